import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderRateLimiting } from "../../../lib/datamodel/sections/rate-limiting/render.js";
import { MAX_INSTANT_LIMIT } from "../../../lib/datamodel/sections/rate-limiting/schema.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-ratelimit-");
const { valid, problems } = section("rate-limiting", { rundir });

const DEFAULTS = {
  enable: false,
  "instant-limit": 50,
  capacity: 524288,
  slip: 2,
  "log-period": "0s",
  "dry-run": false,
};
const UNSUPPORTED = {
  pointer: "/rate-limiting/enable",
  message: "not supported by kresd 5.6: it has no rate limiting (a Knot Resolver 6 feature)",
};

describe("rate-limiting schema (Knot Resolver 6.4)", () => {
  it("is off by default, with upstream's defaults", () => {
    expect(validateConfig({ rundir })["rate-limiting"]).toEqual(DEFAULTS);
  });

  it("keeps a section without enable off, as upstream (in 6.0 its presence meant on)", () => {
    const cfg = valid({
      "rate-limit": 100,
      "instant-limit": 10,
      slip: 0,
      "log-period": "1m",
      "dry-run": true,
    });
    expect(cfg["rate-limiting"]).toMatchObject({ enable: false, "rate-limit": 100 });
    expect(renderRateLimiting(cfg)).toBe("");
    expect(valid({ "rate-limit": null })["rate-limiting"]).toEqual(DEFAULTS);
  });

  it("refuses enable: true, naming kresd 5.6 (it has no rate limiting)", () => {
    expect(problems({ enable: true, "rate-limit": 100 })).toEqual([UNSUPPORTED]);
  });

  it("checks the section as upstream does, enabled or not", () => {
    expect(problems({ enable: true })).toEqual([
      {
        pointer: "/rate-limiting/rate-limit",
        message: "'rate-limit' has to be configured to enable rate limiting",
      },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 0 })).toEqual([
      { pointer: "/rate-limiting/rate-limit", message: "must be at least 1" },
    ]);
    expect(problems({ capacity: 0 })).toEqual([
      { pointer: "/rate-limiting/capacity", message: "must be at least 1" },
    ]);
    expect(problems({ slip: 33 })).toEqual([
      { pointer: "/rate-limiting/slip", message: "must be at most 32" },
    ]);
    expect(problems({ "log-period": 5 })[0]?.pointer).toBe("/rate-limiting/log-period");
    expect(problems({ "dry-run": "no" })[0]?.pointer).toBe("/rate-limiting/dry-run");
    expect(problems({ bogus: 1 })).toEqual([{ pointer: "/rate-limiting/bogus", message: "unknown key" }]);
  });

  it("refuses a section that is not an object, null included (upstream too)", () => {
    expect(problems(100)).toEqual([{ pointer: "/rate-limiting", message: expect.any(String) }]);
    expect(problems(null)).toEqual([{ pointer: "/rate-limiting", message: expect.any(String) }]);
    expect(problems([{ "rate-limit": 1 }])).toEqual([
      { pointer: "/rate-limiting", message: expect.any(String) },
    ]);
  });

  it("bounds instant-limit to 2^32/768 - 1 and rate-limit to 1000 * instant-limit", () => {
    expect(MAX_INSTANT_LIMIT).toBe(5592404);
    expect(() => valid({ "rate-limit": 1, "instant-limit": MAX_INSTANT_LIMIT })).not.toThrow();
    expect(problems({ "rate-limit": 1, "instant-limit": MAX_INSTANT_LIMIT + 1 })).toEqual([
      {
        pointer: "/rate-limiting/instant-limit",
        message: "'instant-limit' has to be in range 1..5592404, got 5592405",
      },
    ]);
    expect(() => valid({ "rate-limit": 10000, "instant-limit": 10 })).not.toThrow();
    expect(problems({ "rate-limit": 10001, "instant-limit": 10 })).toEqual([
      {
        pointer: "/rate-limiting/rate-limit",
        message: "'rate-limit' has to be in range 1..(1000 * instant-limit) = 1..10000, got 10001",
      },
    ]);
  });

  it("shows upstream's keys and the default off in the JSON Schema", () => {
    const schema = configJsonSchema() as {
      properties: Record<string, { properties?: Record<string, { default?: unknown }> }>;
    };
    const props = schema.properties["rate-limiting"]?.properties ?? {};
    expect(Object.keys(props).sort()).toEqual(
      ["capacity", "dry-run", "enable", "instant-limit", "log-period", "rate-limit", "slip"].sort(),
    );
    expect(props.enable?.default).toBe(false);
  });
});

describe("rate-limiting Lua", () => {
  it("renders nothing for the default", () => {
    expect(renderRateLimiting(validateConfig({ rundir }))).toBe("");
  });
});
