import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderFallback } from "../../../lib/datamodel/sections/fallback/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-fallback-");
const { valid, problems } = section("fallback", { rundir: tmp, ctx: { strict: false } });

describe("fallback schema", () => {
  it("is disabled by default and renders nothing", () => {
    const cfg = validateConfig({ rundir: tmp }, { strict: false });
    expect(cfg.fallback).toEqual({ enable: false });
    expect(renderFallback(cfg)).toBe("");
  });

  it("accepts servers in the forward servers' form while disabled (they are not used)", () => {
    const servers = [
      { address: ["2001:148f:fffe::1", "193.17.47.1"], transport: "tls", hostname: "odvr.nic.cz" },
    ];
    const cfg = valid({ enable: false, servers });
    expect(cfg.fallback).toEqual({ enable: false, servers });
    expect(renderFallback(cfg)).toBe("");
    expect(valid({ servers: ["192.0.2.1@5353"] }).fallback.servers).toEqual(["192.0.2.1@5353"]);
  });

  it("refuses enable: true, as kresd 5.6 has no fallback module", () => {
    expect(problems({ enable: true, servers: ["192.0.2.1"] })).toEqual([
      {
        pointer: "/fallback/enable",
        message: expect.stringMatching(
          /^not supported by kresd 5\.6: fallback forwarding on resolution failure/,
        ),
      },
    ]);
  });

  it("also says that enabling it needs servers", () => {
    expect(problems({ enable: true })).toEqual([
      { pointer: "/fallback/servers", message: "'servers' is required when fallback is enabled" },
      { pointer: "/fallback/enable", message: expect.stringContaining("not supported by kresd 5.6") },
    ]);
  });

  it("checks the servers like forward servers, with pointers into /fallback/servers", () => {
    expect(problems({ servers: [] })).toEqual([
      { pointer: "/fallback/servers", message: "expected at least one server" },
    ]);
    expect(problems({ servers: [{ address: "192.0.2.1", transport: "tls" }] })).toEqual([
      {
        pointer: "/fallback/servers/0/transport",
        message: "a TLS server needs 'hostname' or 'pin-sha256' to be authenticated",
      },
    ]);
    expect(problems({ servers: ["192.0.2.1@0"] })).toEqual([
      { pointer: "/fallback/servers/0", message: "invalid port number '0'" },
    ]);
  });

  it("refuses unknown keys and non-boolean enable", () => {
    expect(problems({ enabled: true })).toEqual([{ pointer: "/fallback/enabled", message: "unknown key" }]);
    expect(problems({ enable: "yes" })).toEqual([
      { pointer: "/fallback/enable", message: expect.any(String) },
    ]);
  });

  it("shows the default in the JSON Schema", () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties: Record<string, unknown> }>;
    };
    expect(schema.properties.fallback?.properties.enable).toMatchObject({ type: "boolean", default: false });
  });
});
