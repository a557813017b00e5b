import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { renderLocalData } from "../../../lib/datamodel/sections/local-data/render.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kres-ld-");
const hosts = path.join(tmp, "custom.hosts");
const rpzFile = path.join(tmp, "block.rpz");
fs.writeFileSync(hosts, "192.0.2.1 a.example\n");
fs.writeFileSync(rpzFile, "");

const localData = section("local-data", { rundir });
const { valid, problems } = localData;

/** The data lines of the rendered Lua (after the static engine). */
function dataLines(cfg: KresConfig): string[] {
  return renderLocalData(cfg)
    .split("\n")
    .filter((l) => /^(krm_local_data\.|hints\.|modules\.load)/.test(l));
}

describe("local-data schema", () => {
  it("defaults to NODATA synthesis and nothing else, rendering nothing", () => {
    const cfg = valid(undefined);
    expect(cfg["local-data"]).toEqual({ nodata: true });
    expect(renderLocalData(cfg)).toBe("");
  });

  it("accepts addresses as a single address or a list, keeping names as written", () => {
    const cfg = valid({
      addresses: { "a1.example.com": "2001:db8::1", "a2.example.org": ["192.0.2.2", "2001:db8::4"] },
    });
    expect(cfg["local-data"].addresses).toEqual({
      "a1.example.com": ["2001:db8::1"],
      "a2.example.org": ["192.0.2.2", "2001:db8::4"],
    });
  });

  it("refuses bad names and addresses with pointers into the mapping", () => {
    const got = problems({ addresses: { "a.example": ["192.0.2.300"], "bad..name": "192.0.2.1" } });
    expect(got).toEqual(
      expect.arrayContaining([
        { pointer: "/local-data/addresses/a.example/0", message: "'192.0.2.300' is not a valid IP address" },
        expect.objectContaining({ pointer: "/local-data/addresses/bad..name" }),
      ]),
    );
  });

  it("checks files only under strict validation, resolving them against the config's directory", () => {
    expect(problems({ "addresses-files": ["missing.hosts"] }, { baseDir: tmp })).toEqual([
      {
        pointer: "/local-data/addresses-files/0",
        message: `file '${path.join(tmp, "missing.hosts")}' does not exist`,
      },
    ]);
    const cfg = valid({ "addresses-files": ["custom.hosts"] }, { baseDir: tmp });
    expect(cfg["local-data"]["addresses-files"]).toEqual([hosts]);
    expect(
      valid({ "addresses-files": ["/nope"] }, { strict: false })["local-data"]["addresses-files"],
    ).toEqual(["/nope"]);
  });

  it("checks TTLs", () => {
    expect(problems({ ttl: "5 minutes" })[0]?.pointer).toBe("/local-data/ttl");
    expect(problems({ ttl: "100000000d" })).toEqual([
      { pointer: "/local-data/ttl", message: "TTL '100000000d' is longer than 2147483647 seconds" },
    ]);
    expect(problems({ rules: [{ name: "a.example", address: "192.0.2.1", ttl: 5 }] })[0]?.pointer).toBe(
      "/local-data/rules/0/ttl",
    );
  });

  it("refuses root-fallback-addresses and -files, removed in Knot Resolver 6.x, pointing to kresctl migrate", () => {
    expect(
      problems({
        "root-fallback-addresses": { "a.root-servers.net.": ["198.41.0.4", "2001:503:ba3e::2:30"] },
        "root-fallback-addresses-files": [hosts],
      }),
    ).toEqual(
      ["root-fallback-addresses", "root-fallback-addresses-files"].map((key) => ({
        pointer: `/local-data/${key}`,
        message: expect.stringMatching(/^removed in Knot Resolver 6\.x; 'kresctl migrate'/),
      })),
    );
  });

  it("fills RPZ defaults and checks its keys", () => {
    expect(valid({ rpz: [{ file: rpzFile }] })["local-data"].rpz).toEqual([
      { file: rpzFile, watchdog: "auto" },
    ]);
    expect(problems({ rpz: [{ file: rpzFile, watchdog: "yes", log: ["ip", "qname"], dry: 1 }] })).toEqual(
      expect.arrayContaining([
        { pointer: "/local-data/rpz/0/watchdog", message: "expected 'auto', true or false" },
        { pointer: "/local-data/rpz/0/log/1", message: "expected one of ip, name" },
        { pointer: "/local-data/rpz/0/dry", message: "unknown key" },
      ]),
    );
    expect(problems({ rpz: [{ watchdog: false }] })[0]?.pointer).toBe("/local-data/rpz/0/file");
  });
});

describe("local-data rules: upstream's checks", () => {
  const rule = (r: unknown) => problems({ rules: [r] });

  it("accepts each kind of rule", () => {
    const cfg = valid({
      rules: [
        { name: "a3.example.com", address: "2001:db8::3", ttl: "10m" },
        { name: ["evil.example.org", "malware.example.net"], subtree: "empty" },
        { name: "a5.example", subtree: "redirect", address: "2001:db8::5" },
        { name: "a6.example", subtree: "empty", address: ["192.0.2.6"], nodata: true },
        { file: hosts, nodata: false },
        { records: "www.google.com. CNAME forcesafesearch.google.com.\n" },
      ],
    });
    expect(cfg["local-data"].rules?.[1]?.name).toEqual(["evil.example.org", "malware.example.net"]);
  });

  it("refuses rules combining kinds that make no sense together", () => {
    const only = "only one of 'address', 'subtree' or 'file' can be configured";
    expect(rule({ name: "a.example", subtree: "nxdomain", address: "192.0.2.1" })).toEqual([
      { pointer: "/local-data/rules/0", message: only },
    ]);
    expect(rule({ file: hosts, records: "a.example. A 192.0.2.1" })).toEqual(
      expect.arrayContaining([{ pointer: "/local-data/rules/0", message: only }]),
    );
  });

  it("refuses rules with nothing to answer", () => {
    expect(rule({ name: "a.example" })).toEqual([
      {
        pointer: "/local-data/rules/0",
        message: "one of 'address', 'subtree', 'file' or 'records' must be configured",
      },
    ]);
  });

  it("refuses rules whose names come from nowhere or from two places", () => {
    expect(rule({ address: "192.0.2.1" })).toEqual([
      { pointer: "/local-data/rules/0", message: "one of 'name', 'file' or 'records' must be configured" },
    ]);
    expect(rule({ name: "a.example", records: "a.example. A 192.0.2.1" })).toEqual([
      { pointer: "/local-data/rules/0", message: "one of 'name', 'file' or 'records' must be configured" },
    ]);
  });

  it("refuses nodata on a subtree rule without addresses", () => {
    expect(rule({ name: "a.example", subtree: "empty", nodata: true })).toEqual([
      { pointer: "/local-data/rules/0/nodata", message: "'nodata' defined but unused with 'subtree'" },
    ]);
  });

  it("refuses bad values with precise pointers", () => {
    expect(rule({ name: "a.example", subtree: "deny" })).toEqual(
      expect.arrayContaining([
        { pointer: "/local-data/rules/0/subtree", message: "expected one of empty, nxdomain, redirect" },
      ]),
    );
    expect(rule({ name: ["ok.example", "not a name"], subtree: "empty" })[0]?.pointer).toBe(
      "/local-data/rules/0/name/1",
    );
    expect(rule({ name: "a.example", subtree: "empty", tags: ["UPPER"] })[0]?.pointer).toBe(
      "/local-data/rules/0/tags/0",
    );
    expect(rule({ records: "a\0b" })[0]?.pointer).toBe("/local-data/rules/0/records");
  });
});

describe("local-data rendering for kresd 5.6", () => {
  it("emits the engine module once, then one call per piece of data, with upstream's TTL default", () => {
    const cfg = valid({ addresses: { "a1.example.com": "2001:db8::1", "a2.example": ["192.0.2.2"] } });
    const lua = renderLocalData(cfg);
    expect(lua.match(/local krm_local_data = /g)).toHaveLength(1);
    expect(dataLines(cfg)).toEqual([
      'modules.load("krm_local_data > iterate")',
      'krm_local_data.address("a1.example.com.", "2001:db8::1", {ttl = 300, nodata = true})',
      'krm_local_data.address("a2.example.", "192.0.2.2", {ttl = 300, nodata = true})',
    ]);
  });

  it("applies /local-data ttl and nodata, and lets rules override them", () => {
    const cfg = valid({
      ttl: "10m",
      nodata: false,
      addresses: { "a.example": "192.0.2.1" },
      "addresses-files": [hosts],
      records: 'txt.example. TXT "x"\n',
      rules: [
        { name: "r.example", address: ["192.0.2.7", "192.0.2.8"], ttl: "30s", nodata: true },
        { name: ["e.example", "f.example"], subtree: "empty" },
        { name: "redir.example", subtree: "redirect", address: "192.0.2.9" },
        { file: hosts, ttl: "1h" },
        { records: "x.example. MX 10 mail.example.\n", nodata: true },
      ],
    });
    expect(dataLines(cfg).slice(1)).toEqual([
      'krm_local_data.address("a.example.", "192.0.2.1", {ttl = 600, nodata = false})',
      `krm_local_data.hosts("${hosts}", {ttl = 600, nodata = false})`,
      'krm_local_data.records("/local-data/records", "txt.example. TXT \\034x\\034\\010", {ttl = 600, nodata = false})',
      'krm_local_data.address("r.example.", "192.0.2.7", {ttl = 30, nodata = true})',
      'krm_local_data.address("r.example.", "192.0.2.8", {ttl = 30, nodata = true})',
      'krm_local_data.subtree("e.example.", "empty", {ttl = 600})',
      'krm_local_data.subtree("f.example.", "empty", {ttl = 600})',
      'krm_local_data.address("redir.example.", "192.0.2.9", {ttl = 600, nodata = false})',
      'krm_local_data.subtree("redir.example.", "redirect", {ttl = 600})',
      `krm_local_data.hosts("${hosts}", {ttl = 3600, nodata = false})`,
      'krm_local_data.records("/local-data/rules/4/records", "x.example. MX 10 mail.example.\\010", {ttl = 600, nodata = true})',
    ]);
  });

  it("treats a zero TTL as unset, as upstream renders it", () => {
    expect(dataLines(valid({ ttl: "0s", addresses: { "a.example": "192.0.2.1" } }))[1]).toContain(
      "{ttl = 300,",
    );
  });

  it("writes names in absolute punycode form", () => {
    expect(dataLines(valid({ addresses: { "příklad.example": "192.0.2.1" } }))[1]).toContain(
      '"xn--pklad-zsa96e.example."',
    );
  });

  it("passes tags to rules and RPZ, and RPZ watch and log settings", () => {
    const cfg = localData.with({ views: [{ subnets: ["10.0.0.0/8"], tags: ["kids"] }] }).valid({
      rules: [{ name: "a.example", subtree: "nxdomain", tags: ["kids"] }],
      rpz: [
        { file: rpzFile, tags: ["kids"], log: ["ip", "name"] },
        { file: rpzFile, watchdog: true },
        { file: rpzFile, watchdog: false },
      ],
    });
    expect(dataLines(cfg).slice(1)).toEqual([
      'krm_local_data.subtree("a.example.", "nxdomain", {ttl = 300, tags = {"kids"}})',
      `krm_local_data.rpz("${rpzFile}", {ttl = 300, nodata = true, tags = {"kids"}, log = {ip = true, name = true}}, nil)`,
      `krm_local_data.rpz("${rpzFile}", {ttl = 300, nodata = true}, true)`,
      `krm_local_data.rpz("${rpzFile}", {ttl = 300, nodata = true}, false)`,
    ]);
  });

  it("never lets a config value out of its Lua string literal", () => {
    for (const s of hostileStrings(50)) {
      if (s.includes("\0")) continue;
      const lua = renderLocalData(valid({ records: s, rules: [{ records: s }] }));
      const data = lua.split("\n").filter((l) => l.startsWith("krm_local_data.records("));
      expect(data).toHaveLength(2);
      for (const line of data)
        expect(line).toMatch(/^krm_local_data\.records\("[^"]*", "[^"]*", \{[^"]*\}\)$/);
    }
  });

  it("documents the keys in the JSON schema", () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const key of ["addresses-files", "watchdog", "subtree"]) {
      expect(schema).toContain(key);
    }
    expect(schema).not.toContain("root-fallback");
  });
});
