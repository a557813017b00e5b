import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderRateLimiting } from "../../../lib/datamodel/sections/rate-limiting/render.js";
import { MAX_INSTANT_LIMIT } from "../../../lib/datamodel/sections/rate-limiting/schema.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-ratelimit-");
const { problems } = section("rate-limiting", { rundir });

const UNSUPPORTED = {
  pointer: "/rate-limiting",
  message:
    "not supported by kresd 5.6: it has no rate limiting (Knot Resolver 6 feature); remove the section",
};

describe("rate-limiting schema", () => {
  it("is absent by default, and null means absent too", () => {
    expect(validateConfig({ rundir })["rate-limiting"]).toBeUndefined();
    const cfg = validateConfig({ rundir, "rate-limiting": null });
    expect(cfg["rate-limiting"]).toBeUndefined();
  });

  it("refuses a well-formed section as a whole: kresd 5.6 has no rate limiting", () => {
    expect(problems({ "rate-limit": 100 })).toEqual([UNSUPPORTED]);
    expect(
      problems({
        capacity: 1024,
        "rate-limit": 100,
        "instant-limit": 10,
        slip: 0,
        "log-period": "1m",
        "dry-run": true,
      }),
    ).toEqual([UNSUPPORTED]);
  });

  it("checks the section as upstream does, and refuses it all the same", () => {
    expect(problems({})).toEqual([
      {
        pointer: "/rate-limiting/rate-limit",
        message: "'rate-limit' is required when the rate-limiting section is present",
      },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 0 })).toEqual([
      { pointer: "/rate-limiting/rate-limit", message: "must be at least 1" },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 1, capacity: 0 })).toEqual([
      { pointer: "/rate-limiting/capacity", message: "must be at least 1" },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 1, slip: 33 })).toEqual([
      { pointer: "/rate-limiting/slip", message: "must be at most 32" },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 1, "log-period": 5 })[0]?.pointer).toBe("/rate-limiting/log-period");
    expect(problems({ "rate-limit": 1, "dry-run": "no" })[0]?.pointer).toBe("/rate-limiting/dry-run");
    expect(problems({ "rate-limit": 1, bogus: 1 })).toEqual([
      { pointer: "/rate-limiting/bogus", message: "unknown key" },
      UNSUPPORTED,
    ]);
  });

  it("refuses a section that is not an object for what it is", () => {
    expect(problems(100)).toEqual([{ pointer: "/rate-limiting", message: expect.any(String) }]);
    expect(problems([{ "rate-limit": 1 }])).toEqual([
      { pointer: "/rate-limiting", message: expect.any(String) },
    ]);
  });

  it("bounds instant-limit to 2^32/768 - 1 and rate-limit to 1000 * instant-limit", () => {
    expect(MAX_INSTANT_LIMIT).toBe(5592404);
    expect(problems({ "rate-limit": 1, "instant-limit": MAX_INSTANT_LIMIT })).toEqual([UNSUPPORTED]);
    expect(problems({ "rate-limit": 1, "instant-limit": MAX_INSTANT_LIMIT + 1 })).toEqual([
      {
        pointer: "/rate-limiting/instant-limit",
        message: "'instant-limit' has to be in range 1..5592404, got 5592405",
      },
      UNSUPPORTED,
    ]);
    expect(problems({ "rate-limit": 10000, "instant-limit": 10 })).toEqual([UNSUPPORTED]);
    expect(problems({ "rate-limit": 10001, "instant-limit": 10 })).toEqual([
      {
        pointer: "/rate-limiting/rate-limit",
        message: "'rate-limit' has to be in range 1..(1000 * instant-limit) = 1..10000, got 10001",
      },
      UNSUPPORTED,
    ]);
  });

  it("shows the upstream keys, defaults and the required rate-limit in the JSON Schema", () => {
    const schema = JSON.stringify(configJsonSchema());
    for (const key of ["capacity", "rate-limit", "instant-limit", "slip", "log-period", "dry-run"]) {
      expect(schema).toContain(`"${key}"`);
    }
    expect(schema).toContain('"required":["rate-limit"]');
  });
});

describe("rate-limiting Lua", () => {
  it("renders nothing for the default", () => {
    expect(renderRateLimiting(validateConfig({ rundir }))).toBe("");
  });
});
