import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { renderDns64 } from "../../../lib/datamodel/sections/dns64/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-dns64-");
const { valid, problems } = section("dns64", { rundir: tmp, ctx: { strict: false } });

const OFF = { enable: false, prefix: "64:ff9b::/96" };
const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

describe("dns64 schema (Knot Resolver 6.4)", () => {
  it("is off by default, as upstream", () => {
    expect(valid(undefined).dns64).toEqual(OFF);
    expect(valid({}).dns64).toEqual(OFF);
  });

  it("is on only with enable: true, with upstream's well-known prefix by default", () => {
    expect(valid({ enable: true }).dns64).toEqual({ enable: true, prefix: "64:ff9b::/96" });
  });

  it("keeps a prefix without enable off, as upstream (6.0 read the object as on)", () => {
    const cfg = valid({ prefix: "2001:db8:64::/96" });
    expect(cfg.dns64.enable).toBe(false);
    expect(renderDns64(cfg)).toBe("");
  });

  it("keeps values as written, null meaning unset", () => {
    expect(
      valid({
        enable: true,
        prefix: "2001:db8:64::/96",
        "reverse-ttl": "1m",
        "exclude-subnets": ["2001:db8::/32"],
      }).dns64,
    ).toEqual({
      enable: true,
      prefix: "2001:db8:64::/96",
      "reverse-ttl": "1m",
      "exclude-subnets": ["2001:db8::/32"],
    });
    expect(valid({ "reverse-ttl": null, "exclude-subnets": null }).dns64).toEqual(OFF);
  });

  describe("refuses", () => {
    it("the 6.0.x spellings, naming the 6.4 one and kresctl migrate", () => {
      expect(problems(true)).toEqual([
        {
          pointer: "/dns64",
          message: `expected an object; 'dns64: true' is the Knot Resolver 6.0 spelling of 'dns64: {enable: true}'; ${MIGRATE}`,
        },
      ]);
      expect(problems(false)[0]?.message).toContain("'dns64: {enable: false}'");
      expect(problems({ enable: true, "rev-ttl": "1m" })).toEqual([
        {
          pointer: "/dns64/rev-ttl",
          message: `renamed to 'dns64/reverse-ttl' in Knot Resolver 6.x; ${MIGRATE}`,
        },
      ]);
    });

    it("anything but an object, and unknown keys", () => {
      expect(problems("64:ff9b::/96")).toEqual([
        { pointer: "/dns64", message: "expected an object of dns64 settings" },
      ]);
      expect(problems({ enabled: true })).toEqual([{ pointer: "/dns64/enabled", message: "unknown key" }]);
    });

    it("a prefix that is not exactly an IPv6 /96 (upstream's rule, and all kresd synthesizes with)", () => {
      expect(problems({ prefix: "2001:db8::/64" })).toEqual([
        { pointer: "/dns64/prefix", message: "expected an IPv6 network with a /96 prefix, got /64" },
      ]);
      expect(problems({ prefix: "64:ff9b::" })).toEqual([
        { pointer: "/dns64/prefix", message: "expected a prefix of at most /96, got /128" },
      ]);
      expect(problems({ prefix: "192.0.2.0/24" })).toEqual([
        { pointer: "/dns64/prefix", message: "expected an IPv6 network" },
      ]);
      expect(problems({ prefix: "64:ff9b::1/96" })).toEqual([
        { pointer: "/dns64/prefix", message: "'64:ff9b::1/96' has host bits set" },
      ]);
    });

    it("exclude-subnets that are not IPv6 networks", () => {
      expect(problems({ "exclude-subnets": ["::ffff:0:0/96", "10.0.0.0/8"] })).toEqual([
        { pointer: "/dns64/exclude-subnets/1", message: "expected an IPv6 network" },
      ]);
    });

    it("a malformed or oversized reverse-ttl", () => {
      expect(problems({ "reverse-ttl": 60 })).toEqual([
        { pointer: "/dns64/reverse-ttl", message: expect.stringContaining("time") },
      ]);
      expect(problems({ "reverse-ttl": "100000d" })).toEqual([
        {
          pointer: "/dns64/reverse-ttl",
          message: "not supported by kresd 5.6: a TTL is at most 2147483647 seconds, got '100000d'",
        },
      ]);
    });
  });

  it("shows its default (off) in the JSON Schema", () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, { default?: unknown }> }>;
    };
    expect(schema.properties.dns64?.properties?.enable?.default).toBe(false);
    expect(Object.keys(schema.properties.dns64?.properties ?? {}).sort()).toEqual([
      "enable",
      "exclude-subnets",
      "prefix",
      "reverse-ttl",
    ]);
  });
});

describe("dns64 Lua", () => {
  it("renders nothing when off, whatever else is set", () => {
    expect(renderDns64(valid(undefined))).toBe("");
    expect(renderDns64(valid({ enable: false, prefix: "2001:db8:64::/96", "reverse-ttl": "1m" }))).toBe("");
  });

  it("loads the module with the prefix's address", () => {
    expect(renderDns64(valid({ enable: true }))).toBe(
      ["modules.load('dns64')", 'dns64.config({prefix = "64:ff9b::"})'].join("\n"),
    );
  });

  it("passes reverse-ttl in seconds and the excluded subnets", () => {
    expect(
      renderDns64(
        valid({
          enable: true,
          prefix: "2001:db8:64::/96",
          "reverse-ttl": "2m",
          "exclude-subnets": ["::ffff:0:0/96", "2001:db8::/32"],
        }),
      ),
    ).toBe(
      [
        "modules.load('dns64')",
        'dns64.config({prefix = "2001:db8:64::", rev_ttl = 120, exclude_subnets = {"::ffff:0:0/96", "2001:db8::/32"}})',
      ].join("\n"),
    );
  });

  it("keeps the module's default exclusion for an empty exclude-subnets list, as upstream", () => {
    expect(renderDns64(valid({ enable: true, "exclude-subnets": [] }))).toBe(
      ["modules.load('dns64')", 'dns64.config({prefix = "64:ff9b::"})'].join("\n"),
    );
  });
});
