import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { renderDns64 } from "../../../lib/datamodel/sections/dns64/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-dns64-");
const { valid, problems } = section("dns64", { rundir: tmp, ctx: { strict: false } });

describe("dns64 schema", () => {
  it("is off by default, as upstream", () => {
    expect(valid(undefined).dns64).toBe(false);
    expect(valid(false).dns64).toBe(false);
  });

  it("turns true into the default object with upstream's well-known prefix", () => {
    expect(valid(true).dns64).toEqual({ prefix: "64:ff9b::/96" });
    expect(valid({}).dns64).toEqual({ prefix: "64:ff9b::/96" });
  });

  it("keeps values as written", () => {
    expect(
      valid({ prefix: "2001:db8:64::/96", "rev-ttl": "1m", "exclude-subnets": ["2001:db8::/32"] }).dns64,
    ).toEqual({
      prefix: "2001:db8:64::/96",
      "rev-ttl": "1m",
      "exclude-subnets": ["2001:db8::/32"],
    });
  });

  describe("refuses", () => {
    it("anything but a boolean or an object", () => {
      expect(problems("64:ff9b::/96")).toEqual([
        { pointer: "/dns64", message: "expected true, false or an object with DNS64 settings" },
      ]);
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

    it("a malformed or oversized rev-ttl", () => {
      expect(problems({ "rev-ttl": 60 })).toEqual([
        { pointer: "/dns64/rev-ttl", message: expect.stringContaining("time") },
      ]);
      expect(problems({ "rev-ttl": "100000d" })).toEqual([
        {
          pointer: "/dns64/rev-ttl",
          message: "not supported by kresd 5.6: a TTL is at most 2147483647 seconds, got '100000d'",
        },
      ]);
    });

    it("unknown keys, including later upstream versions' names", () => {
      expect(problems({ "reverse-ttl": "1m" })).toEqual([
        { pointer: "/dns64/reverse-ttl", message: "unknown key" },
      ]);
      expect(problems({ enable: true })).toEqual([{ pointer: "/dns64/enable", message: "unknown key" }]);
    });
  });

  it("shows its default in the JSON Schema", () => {
    const schema = configJsonSchema() as { properties: Record<string, { default?: unknown }> };
    expect(schema.properties.dns64?.default).toBe(false);
  });
});

describe("dns64 Lua", () => {
  it("renders nothing when off", () => {
    expect(renderDns64(valid(false))).toBe("");
  });

  it("loads the module with the prefix's address", () => {
    expect(renderDns64(valid(true))).toBe(
      ["modules.load('dns64')", 'dns64.config({prefix = "64:ff9b::"})'].join("\n"),
    );
  });

  it("passes rev-ttl in seconds and the excluded subnets", () => {
    expect(
      renderDns64(
        valid({
          prefix: "2001:db8:64::/96",
          "rev-ttl": "2m",
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
    expect(renderDns64(valid({ "exclude-subnets": [] }))).toBe(
      ["modules.load('dns64')", 'dns64.config({prefix = "64:ff9b::"})'].join("\n"),
    );
  });
});
