import { renderOptions } from "../../../lib/datamodel/sections/options/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-options-");
const { valid, problems } = section("options", { rundir, ctx: { strict: false } });

const ALL_OFF = {
  minimize: false,
  "query-loopback": false,
  "reorder-rrset": false,
  "query-case-randomization": false,
  priming: false,
  "rebinding-protection": false,
  "refuse-no-rd": false,
  "time-jump-detection": false,
  "violators-workarounds": false,
  "serve-stale": false,
};
const ALL_ON = Object.fromEntries(Object.keys(ALL_OFF).map((k) => [k, true]));

describe("options schema", () => {
  it("fills upstream defaults", () => {
    expect(valid(undefined).options).toEqual({
      "glue-checking": "normal",
      minimize: true,
      "query-loopback": false,
      "reorder-rrset": true,
      "query-case-randomization": true,
      priming: true,
      "rebinding-protection": false,
      "refuse-no-rd": true,
      "time-jump-detection": true,
      "violators-workarounds": false,
      "serve-stale": false,
    });
  });

  it("takes every glue-checking level", () => {
    for (const level of ["normal", "strict", "permissive"]) {
      expect(valid({ "glue-checking": level }).options["glue-checking"]).toBe(level);
    }
  });

  it("refuses an unknown glue-checking level", () => {
    expect(problems({ "glue-checking": "lax" })).toEqual([
      { pointer: "/options/glue-checking", message: "expected 'normal', 'strict' or 'permissive'" },
    ]);
  });

  it("refuses non-boolean switches and unknown keys with pointers to them", () => {
    expect(problems({ minimize: "yes", "qname-minimisation": true })).toEqual([
      { pointer: "/options/minimize", message: expect.stringContaining("boolean") },
      { pointer: "/options/qname-minimisation", message: "unknown key" },
    ]);
  });
});

describe("renderOptions", () => {
  it("renders the defaults as kresd 5.6 flags and default modules kept loaded", () => {
    expect(renderOptions(valid({}))).toBe(
      [
        'mode("normal")',
        'option("NO_MINIMIZE", false)',
        'option("ALLOW_LOCAL", false)',
        'option("REORDER_RR", true)',
        'option("NO_0X20", false)',
        'modules.load("priming")',
        'modules.load("detect_time_jump")',
        'modules.load("refuse_nord")',
      ].join("\n"),
    );
  });

  it("renders everything switched off: inverted flags, default modules unloaded", () => {
    expect(renderOptions(valid({ ...ALL_OFF, "glue-checking": "permissive" }))).toBe(
      [
        'mode("permissive")',
        'option("NO_MINIMIZE", true)',
        'option("ALLOW_LOCAL", false)',
        'option("REORDER_RR", false)',
        'option("NO_0X20", true)',
        'modules.unload("priming")',
        'modules.unload("detect_time_jump")',
        'modules.unload("refuse_nord")',
      ].join("\n"),
    );
  });

  it("renders everything switched on, loading the optional modules in upstream's layer order", () => {
    expect(renderOptions(valid({ ...ALL_ON, "glue-checking": "strict" }))).toBe(
      [
        'mode("strict")',
        'option("NO_MINIMIZE", false)',
        'option("ALLOW_LOCAL", true)',
        'option("REORDER_RR", true)',
        'option("NO_0X20", false)',
        'modules.load("priming")',
        'modules.load("detect_time_jump")',
        'modules.load("refuse_nord")',
        'modules.load("rebinding < iterate")',
        'modules.load("workarounds < iterate")',
        'modules.load("serve_stale < cache")',
      ].join("\n"),
    );
  });
});
