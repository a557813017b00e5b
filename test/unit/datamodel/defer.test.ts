import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderDefer } from "../../../lib/datamodel/sections/defer/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-defer-");
const { problems } = section("defer", { rundir });

describe("defer schema", () => {
  it("defaults to disabled with logging off, as upstream 6.0", () => {
    expect(validateConfig({ rundir }).defer).toEqual({ enabled: false, "log-period": "0s" });
  });

  it("accepts the defaults written out, a zero period in any unit included", () => {
    expect(validateConfig({ rundir, defer: { enabled: false, "log-period": "0ms" } }).defer).toEqual({
      enabled: false,
      "log-period": "0ms",
    });
  });

  it("refuses enabling it: kresd 5.6 has no request prioritization", () => {
    expect(problems({ enabled: true })).toEqual([
      {
        pointer: "/defer/enabled",
        message:
          "not supported by kresd 5.6: it has no request prioritization (defer is a Knot Resolver 6 feature)",
      },
    ]);
  });

  it("refuses a non-zero log-period at its own pointer", () => {
    expect(problems({ "log-period": "10s" })).toEqual([
      {
        pointer: "/defer/log-period",
        message:
          "not supported by kresd 5.6: it has no request prioritization to log about (got '10s', only '0s' is accepted)",
      },
    ]);
    expect(problems({ enabled: true, "log-period": "1m" }).map((p) => p.pointer)).toEqual([
      "/defer/enabled",
      "/defer/log-period",
    ]);
  });

  it("refuses malformed values and unknown keys", () => {
    expect(problems({ enabled: "yes" })[0]?.pointer).toBe("/defer/enabled");
    expect(problems({ "log-period": 5 })[0]?.pointer).toBe("/defer/log-period");
    expect(problems({ enable: true })).toEqual([{ pointer: "/defer/enable", message: "unknown key" }]);
  });
});

describe("defer Lua", () => {
  it("renders nothing for the default", () => {
    expect(renderDefer(validateConfig({ rundir }))).toBe("");
  });
});
