/**
 * kresctl config set|delete and reload with --dry-run[=canary]: the request they send, and the plan
 * printed for people (colours only on a terminal) or raw with --json.
 */
import type { ChangePlan } from "../../../lib/datamodel/change-plan.js";
import { FakeManager, kresctl } from "./fake-manager.js";

const PLAN: ChangePlan = {
  "dry-run": "true",
  etag: "aaaa",
  "new-etag": "bbbb",
  changed: true,
  changes: [
    { pointer: "/workers", op: "replace", old: 2, new: 3 },
    { pointer: "/nsid", op: "add", new: "x\u001b[2J" },
    { pointer: "/cache/size-max", op: "remove", old: "100M" },
  ],
  "yaml-diff": "--- running/config.yaml\n+++ new/config.yaml\n@@ -1,1 +1,1 @@\n-workers: 2\n+workers: 3\n",
  "lua-changed": true,
  "lua-diff": '--- running/kresd.lua\n+++ new/kresd.lua\n@@ -1,1 +1,1 @@\n-nsid.name("a")\n+nsid.name("x")\n',
  processes: {
    restart: ["kresd:kresd0", "kresd:kresd1"],
    start: ["kresd:kresd2"],
    stop: [],
    unchanged: ["cache-gc"],
  },
};
const CANARY_FAILED: ChangePlan = {
  ...PLAN,
  "dry-run": "canary",
  canary: { ok: false, message: "the new configuration was refused by a canary kresd: boom" },
};

let fake: FakeManager;
beforeAll(async () => {
  fake = await FakeManager.start({
    "PUT /v1/config/workers?dry-run=true": { json: PLAN },
    "PUT /v1/config/workers?persist=true&dry-run=canary": { json: CANARY_FAILED },
    "DELETE /v1/config/cache/size-max?dry-run=true": { json: PLAN },
    "POST /reload?dry-run=true": { json: { ...PLAN, changed: false, changes: [] } },
    "POST /reload/force?dry-run=canary": { json: { ...PLAN, canary: { ok: true, message: "came up" } } },
    "PUT /v1/config/nsid?dry-run=true": { json: { changed: true, etag: "old manager" } },
  });
});
afterAll(() => fake.stop());
beforeEach(() => fake.seen.splice(0));

const run = (args: string[], colour = false) => kresctl(["-s", fake.socket, ...args], { colour });
const requests = () => fake.seen.map((s) => `${s.method} ${s.url}`);

describe("kresctl --dry-run", () => {
  it("config set: asks for the plan and prints it, plain when not on a terminal", async () => {
    const r = await run(["config", "set", "--dry-run", "-p", "/workers", "3"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(requests()).toEqual(["PUT /v1/config/workers?dry-run=true"]);
    expect(r.out).toBe(
      [
        "Dry run: nothing was changed.",
        "Configuration: ETag aaaa → bbbb",
        "",
        "Changes:",
        "  ~ /workers: 2 → 3",
        '  + /nsid: "x\\u001b[2J"',
        '  - /cache/size-max (was "100M")',
        "",
        "Processes:",
        "  restart    kresd:kresd0 kresd:kresd1",
        "  start      kresd:kresd2",
        "  stop       -",
        "  unchanged  cache-gc",
        "",
        "Workers' Lua: changes (diff below)",
        "",
        "--- running/config.yaml",
        "+++ new/config.yaml",
        "@@ -1,1 +1,1 @@",
        "-workers: 2",
        "+workers: 3",
        "",
        "--- running/kresd.lua",
        "+++ new/kresd.lua",
        "@@ -1,1 +1,1 @@",
        '-nsid.name("a")',
        '+nsid.name("x")',
        "",
      ].join("\n"),
    );
    expect(r.out).not.toContain("\u001b");
  });

  it("colours the plan on a terminal: removed lines red, added green, hunks cyan", async () => {
    const r = await run(["config", "set", "--dry-run", "-p", "/workers", "3"], true);
    expect(r.out).toContain("\u001b[31m-workers: 2\u001b[0m");
    expect(r.out).toContain("\u001b[32m+workers: 3\u001b[0m");
    expect(r.out).toContain("\u001b[36m@@ -1,1 +1,1 @@\u001b[0m");
    // A config value never brings its own escapes along.
    expect(r.out).toContain('"x\\u001b[2J"');
    expect(r.out).not.toContain("\u001b[2J");
  });

  it("--json prints the plan as the manager sent it", async () => {
    const r = await run(["config", "set", "--dry-run", "--json", "/workers", "3"]);
    expect(JSON.parse(r.out)).toEqual(PLAN);
  });

  it("--dry-run=canary (or --canary) asks for a canary, keeps --persist, and exits 1 when it failed", async () => {
    for (const flags of [["--dry-run=canary"], ["--dry-run", "--canary"], ["--canary"]]) {
      const r = await run(["config", "set", "--persist", ...flags, "/workers", "3"]);
      expect(r.code).toBe(1);
      expect(r.out).toContain("Canary: FAILED: the new configuration was refused by a canary kresd: boom");
      expect(r.err).toBe("kresctl: the canary did not come up with the new configuration\n");
    }
    expect(new Set(requests())).toEqual(new Set(["PUT /v1/config/workers?persist=true&dry-run=canary"]));
  });

  it("config delete and reload [--force] ask for the plan of their own request", async () => {
    expect((await run(["config", "delete", "--dry-run", "/cache/size-max"])).code).toBe(0);
    const same = await run(["reload", "--dry-run"]);
    expect(same.out).toContain("Configuration: unchanged (ETag aaaa); the change would do nothing");
    const forced = await run(["reload", "--force", "--dry-run=canary"]);
    expect(forced.out).toContain("Canary: ok: came up");
    // No question about unpersisted changes: a dry run drops nothing (no GET /).
    expect(requests()).toEqual([
      "DELETE /v1/config/cache/size-max?dry-run=true",
      "POST /reload?dry-run=true",
      "POST /reload/force?dry-run=canary",
    ]);
  });

  it("refuses --dry-run=anything-else before sending anything", async () => {
    const r = await run(["config", "set", "--dry-run=yes", "/workers", "3"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/--dry-run takes no value, or =canary; not "yes"/);
    expect(requests()).toEqual([]);
  });

  it("says so when the answer is not a plan (a manager that ignores ?dry-run=)", async () => {
    const r = await run(["config", "set", "--dry-run", "/nsid", "x"]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/did not answer with a dry-run plan/);
  });
});
