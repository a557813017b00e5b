import * as fs from "node:fs";
import * as path from "node:path";
import { trustAnchorOwner } from "../../../lib/datamodel/sections/dnssec/schema.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderDnssec } from "../../../lib/datamodel/sections/dnssec/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-dnssec-");
const keyFile = path.join(tmp, "root.key");
fs.writeFileSync(
  keyFile,
  ". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
);

const DS = ". 3600 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D";
const DEFAULTS = {
  enable: true,
  "log-bogus": false,
  sentinel: true,
  "signal-query": true,
};
const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

const { valid, problems } = section("dnssec", { rundir: tmp, ctx: { strict: false } });

describe("dnssec schema (Knot Resolver 6.4)", () => {
  it("validates by default, as upstream: enable true with upstream's defaults", () => {
    expect(valid(undefined).dnssec).toEqual(DEFAULTS);
    expect(valid({}).dnssec).toEqual(DEFAULTS);
  });

  it("takes upstream's keys, null for a list meaning unset", () => {
    expect(
      valid({
        enable: false,
        "log-bogus": true,
        sentinel: false,
        "signal-query": false,
        "trust-anchors": null,
      }).dnssec,
    ).toEqual({ enable: false, "log-bogus": true, sentinel: false, "signal-query": false });
  });

  it("fills defaults around the keys given", () => {
    expect(valid({ "negative-trust-anchors": ["bad.example"] }).dnssec).toEqual({
      ...DEFAULTS,
      "negative-trust-anchors": ["bad.example"],
    });
    expect(valid({ "trust-anchors-files": [{ file: keyFile }] }).dnssec).toMatchObject({
      "trust-anchors-files": [{ file: keyFile, "read-only": false }],
    });
  });

  it("resolves trust anchor files against the config file's directory", () => {
    const cfg = validateConfig(
      { rundir: tmp, dnssec: { "trust-anchors-files": [{ file: "root.key" }] } },
      { baseDir: tmp },
    );
    expect(cfg.dnssec["trust-anchors-files"]).toEqual([{ file: keyFile, "read-only": false }]);
  });

  describe("refuses 6.0.x spellings, naming the 6.4 one and kresctl migrate", () => {
    it("a boolean for the section", () => {
      expect(problems(false)).toEqual([
        {
          pointer: "/dnssec",
          message: `expected an object; 'dnssec: false' is the Knot Resolver 6.0 spelling of 'dnssec: {enable: false}'; ${MIGRATE}`,
        },
      ]);
      expect(problems(true)[0]?.message).toContain("'dnssec: {enable: true}'");
    });

    it("the renamed keys", () => {
      expect(problems({ "trust-anchor-sentinel": false, "trust-anchor-signal-query": false })).toEqual([
        {
          pointer: "/dnssec/trust-anchor-sentinel",
          message: `renamed to 'dnssec/sentinel' in Knot Resolver 6.x; ${MIGRATE}`,
        },
        {
          pointer: "/dnssec/trust-anchor-signal-query",
          message: `renamed to 'dnssec/signal-query' in Knot Resolver 6.x; ${MIGRATE}`,
        },
      ]);
    });

    it("the removed RFC 5011 and time-skew keys", () => {
      const found = problems({
        "time-skew-detection": false,
        "keep-removed": 2,
        "refresh-time": "1h",
        "hold-down-time": "30d",
      });
      expect(found.map((p) => p.pointer)).toEqual([
        "/dnssec/time-skew-detection",
        "/dnssec/keep-removed",
        "/dnssec/refresh-time",
        "/dnssec/hold-down-time",
      ]);
      for (const p of found) {
        expect(p.message).toMatch(/^removed in Knot Resolver 6\.x \(.*\); 'kresctl migrate'/);
      }
    });
  });

  describe("refuses", () => {
    it("anything but an object, and unknown keys", () => {
      expect(problems("yes")).toEqual([
        { pointer: "/dnssec", message: "expected an object of dnssec settings" },
      ]);
      expect(problems({ enabled: false })).toEqual([{ pointer: "/dnssec/enabled", message: "unknown key" }]);
      expect(problems({ enable: "no" })[0]?.pointer).toBe("/dnssec/enable");
    });

    it("a trust anchor that is not a DS or DNSKEY record", () => {
      expect(
        problems({ "trust-anchors": [DS, "example.com. A 192.0.2.1", "bad..name DS 1 8 2 AB", "x DS"] }),
      ).toEqual([
        {
          pointer: "/dnssec/trust-anchors/1",
          message: expect.stringContaining("expected a DS or DNSKEY record"),
        },
        {
          pointer: "/dnssec/trust-anchors/2",
          message: expect.stringContaining("'bad..name' is not a valid owner"),
        },
        { pointer: "/dnssec/trust-anchors/3", message: "the record has no data: 'x DS'" },
      ]);
    });

    it("an invalid negative trust anchor name", () => {
      expect(problems({ "negative-trust-anchors": ["ok.example", "-bad.example"] })).toEqual([
        { pointer: "/dnssec/negative-trust-anchors/1", message: "'-bad.example' is not a valid domain name" },
      ]);
    });

    it("a negative trust anchor where a trust anchor is (kresd refuses to start)", () => {
      expect(problems({ "trust-anchors": [DS], "negative-trust-anchors": ["."] })).toEqual([
        {
          pointer: "/dnssec/negative-trust-anchors/0",
          message: "'.' cannot be a negative trust anchor: it has a trust anchor (/dnssec/trust-anchors/0)",
        },
      ]);
    });

    it("a missing trust anchor file, in strict mode", () => {
      expect(
        problems({ "trust-anchors-files": [{ file: path.join(tmp, "nope.key") }] }, { strict: true }),
      ).toEqual([
        { pointer: "/dnssec/trust-anchors-files/0/file", message: expect.stringContaining("does not exist") },
      ]);
    });

    (process.getuid?.() === 0 ? it.skip : it)(
      "a managed trust anchor file in a directory kresd cannot write, in strict mode",
      () => {
        const dir = path.join(tmp, "ro");
        fs.mkdirSync(dir);
        fs.copyFileSync(keyFile, path.join(dir, "root.key"));
        fs.chmodSync(dir, 0o555);
        try {
          expect(
            problems({ "trust-anchors-files": [{ file: path.join(dir, "root.key") }] }, { strict: true }),
          ).toEqual([
            {
              pointer: "/dnssec/trust-anchors-files/0/read-only",
              message: expect.stringContaining("write access"),
            },
          ]);
          expect(() =>
            valid(
              { "trust-anchors-files": [{ file: path.join(dir, "root.key"), "read-only": true }] },
              { strict: true },
            ),
          ).not.toThrow();
        } finally {
          fs.chmodSync(dir, 0o755);
        }
      },
    );
  });

  it("reads the owner of a trust anchor record", () => {
    expect(trustAnchorOwner(DS)).toEqual({ owner: "." });
    expect(trustAnchorOwner("Example.COM 300 DNSKEY 257 3 13 AAAA")).toEqual({ owner: "example.com." });
    expect(trustAnchorOwner("example.com")).toHaveProperty("problem");
  });

  it("shows upstream's property names in the JSON Schema, not the 6.0 ones it refuses", () => {
    const schema = configJsonSchema() as { properties: Record<string, { properties?: object }> };
    expect(Object.keys(schema.properties.dnssec?.properties ?? {}).sort()).toEqual(
      [
        "enable",
        "log-bogus",
        "negative-trust-anchors",
        "sentinel",
        "signal-query",
        "trust-anchors",
        "trust-anchors-files",
      ].sort(),
    );
  });
});

describe("dnssec Lua", () => {
  it("renders nothing by default: kresd 5.6 validates with the root key and its helper modules", () => {
    expect(renderDnssec(valid(undefined))).toBe("");
  });

  it("with enable: false removes the root trust anchor and unloads the DNSSEC helper modules", () => {
    expect(renderDnssec(valid({ enable: false, "log-bogus": true, "trust-anchors": [DS] }))).toBe(
      [
        "-- validation off: without a trust anchor kresd validates nothing",
        "trust_anchors.remove('.')",
        'if ta_sentinel ~= nil then modules.unload("ta_sentinel") end',
        'if ta_signal_query ~= nil then modules.unload("ta_signal_query") end',
        'if detect_time_skew ~= nil then modules.unload("detect_time_skew") end',
      ].join("\n"),
    );
  });

  it("renders every option", () => {
    const out = renderDnssec(
      valid({
        "log-bogus": true,
        sentinel: false,
        "signal-query": false,
        "trust-anchors-files": [{ file: keyFile, "read-only": true }],
        "trust-anchors": ["example.com. 300 IN DNSKEY 257 3 13 AAAA"],
        "negative-trust-anchors": ["Bad.Example", "other.example."],
      }),
    );
    expect(out).toBe(
      [
        'modules.load("bogus_log")',
        'if ta_sentinel ~= nil then modules.unload("ta_sentinel") end',
        'if ta_signal_query ~= nil then modules.unload("ta_signal_query") end',
        `trust_anchors.add_file("${keyFile}", true)`,
        'trust_anchors.add("example.com. 300 IN DNSKEY 257 3 13 AAAA")',
        'trust_anchors.set_insecure({"bad.example.", "other.example."})',
      ].join("\n"),
    );
  });

  it("turns a negative trust anchor at the root into dropping every trust anchor", () => {
    const out = renderDnssec(valid({ "negative-trust-anchors": ["."] }));
    expect(out).toContain(
      "for _, owner in ipairs(owners) do trust_anchors.remove(kres.dname2str(owner)) end",
    );
    expect(out).not.toContain("set_insecure");
  });

  it("escapes trust anchor records, which are free text", () => {
    const out = renderDnssec(valid({ "trust-anchors": ['example.com. DS 1 8 2 AB") os.exit(1) --\n'] }));
    expect(out).toContain('trust_anchors.add("example.com. DS 1 8 2 AB\\034) os.exit(1) --\\010")');
  });
});
