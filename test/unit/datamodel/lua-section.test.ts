import * as fs from "node:fs";
import * as path from "node:path";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { renderLua } from "../../../lib/datamodel/sections/lua/render.js";
import { section, testRundir } from "../../../harness/validation.js";

const tmp = testRundir("kres-lua-");
const script = path.join(tmp, "my 'custom\" script.lua");
fs.writeFileSync(script, "-- nothing\n");

const { valid, problems } = section("lua", { rundir: tmp, base: { cache: { storage: tmp } } });

describe("lua schema", () => {
  it("has no script by default", () => {
    expect(valid(undefined).lua).toEqual({ "script-only": false, "policy-script-only": false });
    expect(renderLua(valid(undefined))).toBe("");
  });

  it("refuses script and script-file together, pointing at script-file", () => {
    expect(problems({ script: "x = 1", "script-file": script })).toEqual([
      {
        pointer: "/lua/script-file",
        message: "'script' and 'script-file' are both set; use only one of them",
      },
    ]);
  });

  it("resolves script-file against the config's directory and checks it is readable", () => {
    const cfg = validateConfig(
      { rundir: tmp, cache: { storage: tmp }, lua: { "script-file": path.basename(script) } },
      { baseDir: tmp },
    );
    expect(cfg.lua["script-file"]).toBe(script);
    expect(problems({ "script-file": path.join(tmp, "missing.lua") })).toEqual([
      { pointer: "/lua/script-file", message: expect.stringContaining("does not exist") },
    ]);
  });

  it("refuses the policy-loader keys: kresd 5.6 has no policy-loader", () => {
    const message = expect.stringMatching(/^not supported by kresd 5\.6: there is no policy-loader process/);
    expect(problems({ "policy-script": "x = 1" })).toEqual([{ pointer: "/lua/policy-script", message }]);
    expect(problems({ "policy-script-file": script })).toEqual([
      { pointer: "/lua/policy-script-file", message },
    ]);
    expect(problems({ "policy-script-only": true })).toEqual([
      { pointer: "/lua/policy-script-only", message },
    ]);
    expect(valid({ "policy-script-only": false }).lua["policy-script-only"]).toBe(false);
  });

  it("refuses a script that is not a string", () => {
    expect(problems({ script: 42 })).toEqual([
      { pointer: "/lua/script", message: "expected a string of Lua code" },
    ]);
  });
});

describe("renderLua", () => {
  it("renders the script verbatim: the lua section is raw Lua by design", () => {
    const code = "local x = [[a]]\n-- comment\nmodules.load('stats')";
    expect(renderLua(valid({ script: code }))).toBe(code);
  });

  it("runs script-file with dofile and an escaped path", () => {
    expect(renderLua(valid({ "script-file": script }))).toBe(
      `dofile("${tmp}/my \\039custom\\034 script.lua")`,
    );
  });

  it("puts the script last in the worker Lua", () => {
    const lua = renderWorkerLua(valid({ script: "user_marker = 1" }));
    expect(lua.trimEnd().endsWith("-- lua\nuser_marker = 1")).toBe(true);
    expect(lua).toContain("cache.open(");
  });

  it("with script-only, gives the workers nothing but the script", () => {
    const lua = renderWorkerLua(valid({ "script-only": true, script: "user_marker = 1" }));
    expect(lua).not.toContain("cache.open(");
    expect(lua).not.toContain("hostname(");
    expect(lua).toMatch(/^-- Generated[^\n]*\n\n-- lua\nuser_marker = 1\n$/);
  });
});
