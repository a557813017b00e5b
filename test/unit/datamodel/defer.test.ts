import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderDefer } from "../../../lib/datamodel/sections/defer/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-defer-");
const { valid, problems } = section("defer", { rundir });

describe("defer schema (Knot Resolver 6.4 keys, kresd 5.6 default)", () => {
  it("is off by default here (upstream: on since 6.1; kresd 5.6 has no defer)", () => {
    expect(validateConfig({ rundir }).defer).toEqual({ enable: false, "log-period": "0s" });
  });

  it("documents that default in the JSON Schema", () => {
    const schema = configJsonSchema() as {
      properties: Record<
        string,
        { description?: string; properties?: Record<string, { default?: unknown }> }
      >;
    };
    expect(schema.properties.defer?.properties?.enable?.default).toBe(false);
    expect(schema.properties.defer?.description).toMatch(
      /Off by default here, unlike upstream 6\.1\+.*kresd 5\.6/,
    );
    expect(Object.keys(schema.properties.defer?.properties ?? {}).sort()).toEqual(["enable", "log-period"]);
  });

  it("accepts it off, with any log-period (nothing is logged while off)", () => {
    expect(valid({ enable: false, "log-period": "10s" }).defer).toEqual({
      enable: false,
      "log-period": "10s",
    });
  });

  it("refuses enable: true, naming kresd 5.6", () => {
    expect(problems({ enable: true })).toEqual([
      {
        pointer: "/defer/enable",
        message:
          "not supported by kresd 5.6: it has no request prioritization (defer is a Knot Resolver 6 feature)",
      },
    ]);
  });

  it("refuses the 6.0.x key 'enabled', naming 'enable' and kresctl migrate", () => {
    expect(problems({ enabled: false })).toEqual([
      {
        pointer: "/defer/enabled",
        message:
          "renamed to 'defer/enable' in Knot Resolver 6.x; 'kresctl migrate' rewrites a 6.0 configuration into the current shape",
      },
    ]);
  });

  it("refuses malformed values and unknown keys", () => {
    expect(problems({ enable: "yes" })[0]?.pointer).toBe("/defer/enable");
    expect(problems({ "log-period": 5 })[0]?.pointer).toBe("/defer/log-period");
    expect(problems({ bogus: true })).toEqual([{ pointer: "/defer/bogus", message: "unknown key" }]);
  });
});

describe("defer Lua", () => {
  it("renders nothing", () => {
    expect(renderDefer(validateConfig({ rundir }))).toBe("");
  });
});
