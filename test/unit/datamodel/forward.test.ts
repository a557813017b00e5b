import * as fs from "node:fs";
import * as path from "node:path";
import { forwardTargets } from "../../../lib/datamodel/sections/forward/schema.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderDnssec } from "../../../lib/datamodel/sections/dnssec/render.js";
import { renderForward } from "../../../lib/datamodel/sections/forward/render.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-forward-");
const caFile = path.join(tmp, "ca.pem");
fs.writeFileSync(caFile, "");

const PIN = "QG9ztvxxNI7XYYr1d9FcECNR6mpXk8goqfOycJrJkgc=";

const { valid, problems } = section("forward", { rundir: tmp, ctx: { strict: false } });

const lua = (forward: unknown) => renderForward(valid(forward));

describe("forward schema", () => {
  it("is absent by default and renders nothing", () => {
    const cfg = validateConfig({ rundir: tmp }, { strict: false });
    expect(cfg.forward).toBeUndefined();
    expect(renderForward(cfg)).toBe("");
  });

  it("takes a single subtree or a list, and fills the options' upstream defaults", () => {
    expect(valid([{ subtree: "example.com", servers: ["192.0.2.1"] }]).forward).toEqual([
      {
        subtree: ["example.com"],
        servers: ["192.0.2.1"],
        options: { authoritative: false, dnssec: true },
      },
    ]);
    expect(
      valid([{ subtree: ["a.example", "b.example"], servers: ["192.0.2.1"] }]).forward?.[0]?.subtree,
    ).toEqual(["a.example", "b.example"]);
  });

  it("takes server objects with one address or a list of them, keeping values as written", () => {
    const cfg = valid([
      {
        subtree: ".",
        servers: [
          { address: ["2001:db8::1", "192.0.2.1@8853"], transport: "tls", hostname: "dns.example" },
          { address: "192.0.2.2", transport: "tls", "pin-sha256": PIN },
        ],
      },
    ]);
    expect(cfg.forward?.[0]?.servers).toEqual([
      { address: ["2001:db8::1", "192.0.2.1@8853"], transport: "tls", hostname: "dns.example" },
      { address: ["192.0.2.2"], transport: "tls", "pin-sha256": [PIN] },
    ]);
  });

  it("resolves a relative ca-file against the config file's directory and checks it in strict mode", () => {
    const server = { address: "192.0.2.1", transport: "tls", hostname: "dns.example", "ca-file": "ca.pem" };
    const cfg = validateConfig(
      { rundir: tmp, forward: [{ subtree: ".", servers: [server] }] },
      { baseDir: tmp },
    );
    const first = cfg.forward?.[0]?.servers[0];
    expect(typeof first === "object" && first["ca-file"]).toBe(caFile);
    expect(
      problems([{ subtree: ".", servers: [{ ...server, "ca-file": "missing.pem" }] }], {
        strict: true,
        baseDir: tmp,
      }),
    ).toEqual([
      {
        pointer: "/forward/0/servers/0/ca-file",
        message: expect.stringContaining("does not exist"),
      },
    ]);
  });

  it("takes a list mixing address strings and server objects, as upstream", () => {
    const servers = ["192.0.2.1", { address: "192.0.2.2@5353" }];
    expect(valid([{ subtree: "a.example", servers }]).forward?.[0]?.servers).toEqual([
      "192.0.2.1",
      { address: ["192.0.2.2@5353"] },
    ]);
    expect(lua([{ subtree: "a.example", servers }])).toContain(
      'policy.FORWARD({"192.0.2.1@53", "192.0.2.2@5353"})',
    );
  });

  it("takes hostname, ca-file and pin-sha256 without 'transport: tls', as upstream: plain DNS all the same", () => {
    const servers = [
      { address: "192.0.2.1", hostname: "dns.example", "ca-file": caFile },
      { address: "192.0.2.2", "pin-sha256": PIN },
    ];
    expect(valid([{ subtree: "a.example", servers }]).forward?.[0]?.servers).toHaveLength(2);
    const out = lua([{ subtree: "a.example", servers }]);
    expect(out).toContain('policy.FORWARD({"192.0.2.1@53", "192.0.2.2@53"})');
    expect(out).not.toMatch(/TLS_FORWARD|hostname|pin_sha256|ca_file/);
  });

  describe("refuses", () => {
    it("unknown keys, with a pointer to them", () => {
      expect(problems([{ subtree: "a.example", servers: ["192.0.2.1"], zone: "x" }])).toEqual([
        { pointer: "/forward/0/zone", message: "unknown key" },
      ]);
      expect(
        problems([{ subtree: "a.example", servers: ["192.0.2.1"], options: { insecure: true } }]),
      ).toEqual([{ pointer: "/forward/0/options/insecure", message: "unknown key" }]);
    });

    it("a missing subtree or servers", () => {
      expect(problems([{ servers: ["192.0.2.1"] }])).toEqual([
        { pointer: "/forward/0/subtree", message: expect.any(String) },
      ]);
      expect(problems([{ subtree: "a.example" }])).toEqual([
        { pointer: "/forward/0/servers", message: expect.any(String) },
      ]);
    });

    it("an invalid subtree name", () => {
      expect(problems([{ subtree: ["a.example", "bad..name"], servers: ["192.0.2.1"] }])).toEqual([
        { pointer: "/forward/0/subtree/1", message: "'bad..name' is not a valid domain name" },
      ]);
    });

    it("an empty server list", () => {
      expect(problems([{ subtree: "a.example", servers: [] }])).toEqual([
        { pointer: "/forward/0/servers", message: "expected at least one server" },
      ]);
    });

    it("an invalid address or port", () => {
      expect(problems([{ subtree: "a.example", servers: ["192.0.2.1@99999", "not-an-ip"] }])).toEqual([
        { pointer: "/forward/0/servers/0", message: "invalid port number '99999'" },
        { pointer: "/forward/0/servers/1", message: "expected an IP address, got 'not-an-ip'" },
      ]);
      expect(
        problems([{ subtree: "a.example", servers: [{ address: ["192.0.2.1", "192.0.2.2@0"] }] }]),
      ).toEqual([{ pointer: "/forward/0/servers/0/address/1", message: "invalid port number '0'" }]);
    });

    it("a transport other than tls", () => {
      expect(
        problems([{ subtree: "a.example", servers: [{ address: "192.0.2.1", transport: "udp" }] }]),
      ).toEqual([
        {
          pointer: "/forward/0/servers/0/transport",
          message: "expected 'tls' (or leave it out for plain DNS)",
        },
      ]);
    });

    it("a malformed pin-sha256", () => {
      const servers = [{ address: "192.0.2.1", transport: "tls", "pin-sha256": [PIN, "c2hvcnQ="] }];
      expect(problems([{ subtree: "a.example", servers }])).toEqual([
        {
          pointer: "/forward/0/servers/0/pin-sha256/1",
          message: "expected a base64-encoded SHA-256 digest (44 characters)",
        },
      ]);
    });

    it("pin-sha256 together with hostname or ca-file (upstream's rule)", () => {
      const servers = [
        { address: "192.0.2.1", transport: "tls", "pin-sha256": PIN, hostname: "dns.example" },
      ];
      expect(problems([{ subtree: "a.example", servers }])).toEqual([
        {
          pointer: "/forward/0/servers/0/pin-sha256",
          message: "'pin-sha256' cannot be configured together with 'hostname' or 'ca-file'",
        },
      ]);
    });

    it("a TLS server that cannot be authenticated (kresd refuses it)", () => {
      expect(
        problems([{ subtree: "a.example", servers: [{ address: "192.0.2.1", transport: "tls" }] }]),
      ).toEqual([
        {
          pointer: "/forward/0/servers/0/transport",
          message: "a TLS server needs 'hostname' or 'pin-sha256' to be authenticated",
        },
      ]);
      const caOnly = [{ address: "192.0.2.1", transport: "tls", "ca-file": caFile }];
      expect(problems([{ subtree: "a.example", servers: caOnly }])).toEqual([
        {
          pointer: "/forward/0/servers/0/ca-file",
          message: "'ca-file' needs 'hostname' too: the name the certificate is checked against",
        },
      ]);
    });

    it("authoritative forwarding on a custom port or over TLS (upstream's rules)", () => {
      const custom = [{ subtree: "a.example", servers: ["192.0.2.1", "192.0.2.2@5353"] }];
      expect(problems([{ ...custom[0], options: { authoritative: true, dnssec: false } }])).toEqual([
        {
          pointer: "/forward/0/servers/1",
          message: "forwarding to authoritative servers on a custom port is not supported (got port 5353)",
        },
      ]);
      const tls = [{ address: "192.0.2.1@53", transport: "tls", hostname: "dns.example" }];
      expect(
        problems([{ subtree: "a.example", servers: tls, options: { authoritative: true, dnssec: false } }]),
      ).toEqual([
        {
          pointer: "/forward/0/servers/0/transport",
          message: "forwarding to authoritative servers over TLS is not supported",
        },
      ]);
    });

    it("authoritative forwarding with DNSSEC validation: kresd 5.6's STUB does not validate", () => {
      expect(
        problems([{ subtree: "a.example", servers: ["192.0.2.1"], options: { authoritative: true } }]),
      ).toEqual([
        {
          pointer: "/forward/0/options/authoritative",
          message: expect.stringMatching(
            /^not supported by kresd 5\.6: authoritative forwarding maps to policy\.STUB/,
          ),
        },
      ]);
    });

    it("a rule mixing TLS and plain DNS servers (one kresd 5.6 action cannot)", () => {
      const servers = [
        { address: "192.0.2.1", transport: "tls", hostname: "dns.example" },
        { address: "192.0.2.2" },
      ];
      expect(problems([{ subtree: "a.example", servers }])).toEqual([
        {
          pointer: "/forward/0/servers/1",
          message: "not supported by kresd 5.6: one forward rule cannot mix TLS and plain DNS servers",
        },
      ]);
    });

    it("a TLS server listed twice in one rule (kresd 5.6 refuses it)", () => {
      const servers = [
        { address: ["192.0.2.1", "192.0.2.1@853"], transport: "tls", hostname: "dns.example" },
      ];
      expect(problems([{ subtree: "a.example", servers }])).toEqual([
        {
          pointer: "/forward/0/servers/0/address/1",
          message:
            "not supported by kresd 5.6: TLS server 192.0.2.1@853 is listed twice (first at servers/0/address/0)",
        },
      ]);
    });

    it("one TLS address authenticated differently by two rules (kresd 5.6 keeps one setting per address)", () => {
      const rule = (subtree: string, hostname: string) => ({
        subtree,
        servers: [{ address: "192.0.2.1", transport: "tls", hostname }],
      });
      expect(() => valid([rule("a.example", "one.example"), rule("b.example", "one.example")])).not.toThrow();
      expect(problems([rule("a.example", "one.example"), rule("b.example", "two.example")])).toEqual([
        {
          pointer: "/forward/1/servers/0/address/0",
          message: expect.stringMatching(
            /^not supported by kresd 5\.6: TLS server 192\.0\.2\.1@853 is authenticated differently at \/forward\/0\/servers\/0\/address\/0/,
          ),
        },
      ]);
    });

    it("the same subtree in two places, which would make one of them dead", () => {
      expect(
        problems([
          { subtree: ["a.example", "A.Example."], servers: ["192.0.2.1"] },
          { subtree: "a.example", servers: ["192.0.2.2"] },
        ]),
      ).toEqual([
        {
          pointer: "/forward/0/subtree/1",
          message: "subtree 'a.example.' is already forwarded by /forward/0/subtree/0",
        },
        {
          pointer: "/forward/1/subtree/0",
          message: "subtree 'a.example.' is already forwarded by /forward/0/subtree/0",
        },
      ]);
    });

    it("a validated subtree below one forwarded with dnssec: false (a 5.6 NTA covers the whole subtree)", () => {
      expect(
        problems([
          { subtree: "corp.example", servers: ["192.0.2.1"], options: { dnssec: false } },
          { subtree: ["other.example", "dc.corp.example"], servers: ["192.0.2.2"] },
        ]),
      ).toEqual([
        {
          pointer: "/forward/1/options/dnssec",
          message: expect.stringMatching(
            /^not supported by kresd 5\.6: 'dc\.corp\.example\.' \(subtree\/1\) cannot be validated below 'corp\.example\.'/,
          ),
        },
      ]);
      // The other way round is fine: the child is simply not validated.
      expect(() =>
        valid([
          { subtree: "corp.example", servers: ["192.0.2.1"] },
          { subtree: "dc.corp.example", servers: ["192.0.2.2"], options: { dnssec: false } },
        ]),
      ).not.toThrow();
    });
  });
});

describe("forward targets", () => {
  it("fill in the default port (53 plain, 853 TLS) and remember where each address came from", () => {
    expect(
      forwardTargets([
        { address: ["192.0.2.1", "2001:db8::1@8853"], transport: "tls", hostname: "Dns.Example." },
      ]),
    ).toEqual([
      expect.objectContaining({
        key: "192.0.2.1@853",
        tls: true,
        hostname: "dns.example",
        path: [0, "address", 0],
      }),
      expect.objectContaining({ key: "2001:db8::1@8853", tls: true, path: [0, "address", 1] }),
    ]);
    expect(forwardTargets(["192.0.2.1", "192.0.2.2@5353"]).map((t) => [t.key, t.tls, t.path])).toEqual([
      ["192.0.2.1@53", false, [0]],
      ["192.0.2.2@5353", false, [1]],
    ]);
  });
});

describe("forward Lua", () => {
  it("forwards a subtree to resolvers with policy.FORWARD, ports made explicit", () => {
    expect(lua([{ subtree: "example.com", servers: ["192.0.2.1", "2001:db8::1@5353"] }])).toBe(
      [
        "-- /forward/0",
        'policy.add(policy.suffix(policy.FORWARD({"192.0.2.1@53", "2001:db8::1@5353"}), policy.todnames({"example.com."})))',
      ].join("\n"),
    );
  });

  it("forwards everything with policy.all for the root", () => {
    expect(lua([{ subtree: ".", servers: ["192.0.2.1"] }])).toBe(
      ["-- /forward/0", 'policy.add(policy.all(policy.FORWARD({"192.0.2.1@53"})))'].join("\n"),
    );
  });

  it("uses policy.STUB for authoritative servers", () => {
    expect(
      lua([
        { subtree: "corp.example", servers: ["192.0.2.1"], options: { authoritative: true, dnssec: false } },
      ]),
    ).toContain(
      'policy.add(policy.suffix(policy.STUB({"192.0.2.1@53"}), policy.todnames({"corp.example."})))',
    );
  });

  it("uses policy.TLS_FORWARD with hostname, ca_file and pins", () => {
    const out = lua([
      {
        subtree: ".",
        servers: [
          {
            address: ["192.0.2.1", "2001:db8::1@8853"],
            transport: "tls",
            hostname: "dns.example",
            "ca-file": caFile,
          },
          { address: "192.0.2.2", transport: "tls", "pin-sha256": [PIN] },
        ],
      },
    ]);
    expect(out).toBe(
      [
        "-- /forward/0",
        "policy.add(policy.all(policy.TLS_FORWARD({" +
          `{"192.0.2.1@853", hostname = "dns.example", ca_file = "${caFile}"}, ` +
          `{"2001:db8::1@8853", hostname = "dns.example", ca_file = "${caFile}"}, ` +
          `{"192.0.2.2@853", pin_sha256 = {"${PIN}"}}})))`,
      ].join("\n"),
    );
  });

  it("orders rules most specific first, as upstream matches the longest subtree", () => {
    const out = lua([
      { subtree: ".", servers: ["192.0.2.1"] },
      { subtree: ["example.com", "deep.sub.example.com"], servers: ["192.0.2.2"] },
      { subtree: "sub.example.com", servers: ["192.0.2.3"] },
    ]);
    const order = [...out.matchAll(/todnames\(\{"([^"]+)"\}\)|policy\.all/g)].map((m) => m[1] ?? ".");
    expect(order).toEqual(["deep.sub.example.com.", "sub.example.com.", "example.com.", "."]);
  });

  it("writes subtrees in lower-case ASCII (punycode), as kresd matches them", () => {
    expect(lua([{ subtree: ["Example.COM", "háčky.example"], servers: ["192.0.2.1"] }])).toContain(
      'policy.todnames({"xn--hky-ela4t.example."})',
    );
    expect(lua([{ subtree: "Example.COM", servers: ["192.0.2.1"] }])).toContain(
      'policy.todnames({"example.com."})',
    );
  });

  it("turns dnssec: false into a negative trust anchor, dropping any trust anchor at that name first", () => {
    const cfg = valid([
      { subtree: ["corp.example", "lab.example"], servers: ["192.0.2.1"], options: { dnssec: false } },
    ]);
    const dnssec = renderDnssec(cfg);
    expect(dnssec).toContain(
      'for _, name in ipairs({"corp.example.", "lab.example."}) do trust_anchors.remove(name) end',
    );
    expect(dnssec).toContain('trust_anchors.set_insecure({"corp.example.", "lab.example."})');
    expect(dnssec.indexOf("trust_anchors.remove(name)")).toBeLessThan(dnssec.indexOf("set_insecure"));
  });

  it("turns dnssec: false for the root into dropping every trust anchor", () => {
    const dnssec = renderDnssec(
      valid([{ subtree: ".", servers: ["192.0.2.1"], options: { dnssec: false } }]),
    );
    expect(dnssec).toContain(
      "for _, owner in ipairs(owners) do trust_anchors.remove(kres.dname2str(owner)) end",
    );
    expect(dnssec).not.toContain("set_insecure");
  });

  it("escapes every path that reaches Lua", () => {
    for (const s of hostileStrings(30)) {
      if (s.includes("\0")) continue;
      const file = path.join(tmp, s.replace(/\//g, "_"));
      const server = { address: "192.0.2.1", transport: "tls", hostname: "dns.example", "ca-file": file };
      const out = lua([{ subtree: "a.example", servers: [server] }]);
      const literal = /ca_file = ("(?:[^"\\]|\\\d{3})*")/.exec(out);
      expect(literal).not.toBeNull();
      expect(out.split("\n")).toHaveLength(2);
    }
  });

  it("shows up in the JSON Schema with upstream's keys", () => {
    const schema = configJsonSchema() as { properties: Record<string, { items: { properties: object } }> };
    expect(Object.keys(schema.properties.forward?.items.properties ?? {})).toEqual([
      "subtree",
      "servers",
      "options",
    ]);
  });
});
