/**
 * Dry runs (ManagerService.planChange/planReload) over a real ConfigStore and KresManager, with an
 * in-memory controller: a plan changes nothing, refuses what the change would refuse with the same
 * error, and names exactly the processes the real change then restarts, starts and stops.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChangePlan, ConfigOperation, DryRunMode } from "../../../lib/manager/api.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { ConfigStore } from "../../../lib/manager/config-store.js";
import { KresManager } from "../../../lib/manager/kres-manager.js";
import { logger } from "../../../lib/manager/logger.js";
import { refuseFixedChanges } from "../../../lib/manager/runtime-limits.js";
import { ManagerService } from "../../../lib/manager/service.js";
import type { Preconditions } from "../../../lib/utils/etag.js";
import { testDirs } from "../../../harness/validation.js";
import { FakeController } from "./fake-controller.js";

const { tmp, rundir } = testDirs("krm-dryrun-");
logger.silent = true;
const quiet = { intervalMs: 1_000_000, maxFailures: 2, windowMs: 60_000 };

/** A running manager (real store, manager and service; fake processes) for a config document. */
async function running(extra: Record<string, unknown> = {}, files: readonly string[] = []) {
  const document = { rundir, workers: 2, cache: { storage: rundir }, ...extra };
  const c = new FakeController();
  const version = { document, config: validateConfig(document) };
  const m = new KresManager(c, version.config, quiet);
  await m.start();
  m.stop();
  await c.configure(version.config); // as supervisord.conf is written at start-up
  // Wired as runManager wires them: the checks and the workers' applier.
  const store = new ConfigStore(version);
  store.addVerifier(refuseFixedChanges);
  store.addVerifier((_current, next) => m.verify(next));
  store.addApplier((_current, next, options) => m.apply(next, { force: options.force }));
  const service = new ManagerService(store, m, files, () => Promise.resolve());
  c.calls = [];
  return { c, m, store, service };
}

type World = Awaited<ReturnType<typeof running>>;

/** PIDs by process name, of what runs (the canary's slot aside). */
async function pids(c: FakeController): Promise<Map<string, number>> {
  return new Map(
    (await c.list())
      .filter((p) => p.state === "running" && p.name !== "kresd:kresd256")
      .map((p) => [p.name, p.pid as number]),
  );
}

/** What happened between two PID snapshots, in a plan's words. */
function observed(before: Map<string, number>, after: Map<string, number>): ChangePlan["processes"] {
  const names = [...new Set([...before.keys(), ...after.keys()])];
  const is = (f: (b?: number, a?: number) => boolean) =>
    names.filter((n) => f(before.get(n), after.get(n))).sort();
  return {
    restart: is((b, a) => b !== undefined && a !== undefined && a !== b),
    start: is((b, a) => b === undefined && a !== undefined),
    stop: is((b, a) => b !== undefined && a === undefined),
    unchanged: is((b, a) => b !== undefined && a === b),
  };
}

const sorted = (p: ChangePlan["processes"]) => ({
  restart: [...p.restart].sort(),
  start: [...p.start].sort(),
  stop: [...p.stop].sort(),
  unchanged: [...p.unchanged].sort(),
});

/**
 * The dry run of a change, then the change itself: the dry run moved nothing (same PIDs, slots,
 * ETag, no last change), and its plan names what the change then did, and the ETag it gave.
 */
async function planThenChange(
  w: World,
  op: ConfigOperation,
  pointer: string,
  body: unknown,
  mode: DryRunMode = "true",
): Promise<ChangePlan> {
  const before = await pids(w.c);
  const lua = new Map(w.c.lua);
  const snapshot = w.store.snapshot;
  const last = w.store.lastChange;
  const plan = await w.service.planChange(op, pointer, body, {}, mode, "test");
  expect(await pids(w.c)).toEqual(before);
  expect(w.c.lua).toEqual(lua);
  expect(w.store.snapshot).toBe(snapshot);
  expect(w.store.lastChange).toBe(last);
  expect(plan.etag).toBe(snapshot.etag);

  const result = await w.service.changeConfig(op, pointer, body, {}, "test");
  expect(sorted(plan.processes)).toEqual(observed(before, await pids(w.c)));
  expect(result.etag).toBe(plan["new-etag"]);
  expect(result.changed).toBe(plan.changed);
  return plan;
}

describe("a dry run of a config change", () => {
  it("of a value the config already has: nothing to do, nothing changes", async () => {
    const w = await running();
    const plan = await planThenChange(w, "put", "/workers", 2);
    expect(plan).toEqual({
      "dry-run": "true",
      etag: w.store.snapshot.etag,
      "new-etag": w.store.snapshot.etag,
      changed: false,
      changes: [],
      "yaml-diff": "",
      "lua-changed": false,
      "lua-diff": "",
      processes: {
        restart: [],
        start: [],
        stop: [],
        unchanged: ["kresd:kresd0", "kresd:kresd1", "cache-gc"],
      },
    });
    expect(w.c.calls).toEqual([]);
  });

  it("of a value no worker's Lua holds: a new ETag, every process left alone", async () => {
    const w = await running({ management: { "unix-socket": path.join(rundir, "api.sock") } });
    const plan = await planThenChange(w, "put", "/management/persist", true);
    expect(plan).toMatchObject({
      changed: true,
      changes: [{ pointer: "/management/persist", op: "add", new: true }],
      "lua-changed": false,
      "lua-diff": "",
      processes: { restart: [], start: [], stop: [] },
    });
    expect(plan["new-etag"]).not.toBe(plan.etag);
    expect(plan["yaml-diff"]).toMatch(/^\+ {2}persist: true$/m);
    expect(w.c.calls).toEqual([]);
  });

  it("that changes the Lua: every worker restarted, cache-gc left alone, the Lua's diff", async () => {
    const w = await running({ nsid: "old" });
    const running0 = w.c.lua.get(0);
    const plan = await planThenChange(w, "put", "/nsid", "new");
    expect(plan.changes).toEqual([{ pointer: "/nsid", op: "replace", old: "old", new: "new" }]);
    expect(plan.processes).toEqual({
      restart: ["kresd:kresd0", "kresd:kresd1"],
      start: [],
      stop: [],
      unchanged: ["cache-gc"],
    });
    expect(plan["lua-changed"]).toBe(true);
    expect(plan["lua-diff"]).toMatch(/^--- running\/kresd\.lua\n\+\+\+ new\/kresd\.lua\n/);
    expect(plan["lua-diff"]).toMatch(/^-.*"old"/m);
    expect(plan["lua-diff"]).toMatch(/^\+.*"new"/m);
    expect(plan["yaml-diff"]).toContain("-nsid: old\n+nsid: new\n");
    // The diff is between what ran and what the workers run now.
    const lines = (plan["lua-diff"].match(/^-[^-].*$/gm) ?? []).map((l) => l.slice(1));
    for (const l of lines) expect(running0?.split("\n")).toContain(l);
    expect(w.c.lua.get(0)).toBe(renderWorkerLua(w.store.snapshot.config, { socketsHandedOver: true }));
  });

  it("of more workers: the new ones started, the others left alone", async () => {
    const w = await running();
    const plan = await planThenChange(w, "put", "/workers", 4);
    expect(plan.processes).toEqual({
      restart: [],
      start: ["kresd:kresd2", "kresd:kresd3"],
      stop: [],
      unchanged: ["kresd:kresd0", "kresd:kresd1", "cache-gc"],
    });
    expect(plan.changes).toEqual([{ pointer: "/workers", op: "replace", old: 2, new: 4 }]);
  });

  it("of fewer workers: the surplus ones stopped", async () => {
    const w = await running({ workers: 3 });
    const plan = await planThenChange(w, "put", "/workers", 1);
    expect(plan.processes).toEqual({
      restart: [],
      start: [],
      stop: ["kresd:kresd1", "kresd:kresd2"],
      unchanged: ["kresd:kresd0", "cache-gc"],
    });
  });

  it("that turns the cache garbage collector off, then on again: cache-gc stopped, then started", async () => {
    const w = await running();
    const off = await planThenChange(w, "merge-patch", "/cache", { "garbage-collector": { enable: false } });
    expect(off.processes.stop).toEqual(["cache-gc"]);
    expect(off.processes.unchanged).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    const on = await planThenChange(w, "delete", "/cache/garbage-collector", undefined);
    expect(on.processes.start).toEqual(["cache-gc"]);
    expect(on.changes).toEqual([
      { pointer: "/cache/garbage-collector", op: "remove", old: { enable: false } },
    ]);
  });

  it("of the garbage collector's settings: cache-gc restarted, the workers left alone", async () => {
    const w = await running();
    const plan = await planThenChange(w, "put", "/cache/garbage-collector", { interval: "5s" });
    expect(plan.processes).toMatchObject({ restart: ["cache-gc"], start: [], stop: [] });
    expect(plan["lua-changed"]).toBe(false);
  });

  it("with a JSON Patch and If-Match: the conditions of the change, the plan of the patch", async () => {
    const w = await running();
    const etag = w.store.snapshot.etag;
    const patch = [
      { op: "add", path: "/nsid", value: "x" },
      { op: "replace", path: "/workers", value: 3 },
    ];
    const plan = await w.service.planChange("json-patch", "", patch, { ifMatch: `"${etag}"` }, "true", "t");
    expect(plan.changes).toEqual([
      { pointer: "/workers", op: "replace", old: 2, new: 3 },
      { pointer: "/nsid", op: "add", new: "x" },
    ]);
    expect(plan.processes).toMatchObject({
      restart: ["kresd:kresd0", "kresd:kresd1"],
      start: ["kresd:kresd2"],
    });
  });

  it("forced, of the same files: every worker restarted (reload --force)", async () => {
    const file = path.join(tmp, "config.yaml");
    fs.writeFileSync(file, JSON.stringify({ rundir, workers: 2, cache: { storage: rundir } }));
    const w = await running({}, [file]);
    const same = await w.service.planReload(false, "true", "t");
    expect(same).toMatchObject({ changed: false, processes: { restart: [] } });
    const forced = await w.service.planReload(true, "true", "t");
    expect(forced).toMatchObject({
      changed: true,
      changes: [],
      processes: { restart: ["kresd:kresd0", "kresd:kresd1"], unchanged: ["cache-gc"] },
    });
    expect(w.c.calls).toEqual([]);
  });
});

describe("a dry run of a change the real change refuses", () => {
  /** The dry run's rejection and the change's, side by side; nothing moved. */
  async function bothRefuse(
    w: World,
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions = {},
  ) {
    const dry = await w.service.planChange(op, pointer, body, conditions, "canary", "t").then(
      () => undefined,
      (e: unknown) => e,
    );
    const real = await w.service.changeConfig(op, pointer, body, conditions, "t").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(dry).toBeInstanceOf(Error);
    expect(dry?.constructor).toBe(real?.constructor);
    const answer = (e: unknown) => {
      const k = e as { status: number; body(): unknown };
      return { status: k.status, body: k.body() };
    };
    expect(answer(dry)).toEqual(answer(real));
    expect(w.c.calls).toEqual([]);
    return answer(dry);
  }

  it("refuses an invalid value with the same 422 and problems", async () => {
    const w = await running();
    expect(await bothRefuse(w, "put", "/workers", "lots")).toMatchObject({ status: 422 });
  });

  it("refuses a setting fixed at start with the same 422", async () => {
    const w = await running();
    const answer = await bothRefuse(w, "put", "/rundir", tmp);
    expect(JSON.stringify(answer.body)).toContain("/rundir");
  });

  it("refuses a stale If-Match with the same 412", async () => {
    const w = await running();
    expect(await bothRefuse(w, "put", "/workers", 3, { ifMatch: '"stale"' })).toMatchObject({
      status: 412,
    });
  });

  it("refuses a JSON Patch that cannot apply with the same 409", async () => {
    const w = await running();
    const patch = [{ op: "test", path: "/workers", value: 7 }];
    expect(await bothRefuse(w, "json-patch", "", patch)).toMatchObject({ status: 409 });
  });
});

describe("a dry run with a canary", () => {
  it("starts a canary with the new Lua, reports it came up, and leaves its slot as it was", async () => {
    const w = await running();
    const before = await pids(w.c);
    const plan = await w.service.planChange("put", "/nsid", "x", {}, "canary", "t");
    expect(plan.canary).toEqual({ ok: true, message: expect.stringMatching(/came up/) });
    expect(w.c.calls).toEqual([
      "stop kresd:kresd256",
      "create 256",
      "start kresd:kresd256",
      "stop kresd:kresd256",
    ]);
    expect(w.c.lua.has(256)).toBe(false);
    expect(await pids(w.c)).toEqual(before);
    expect(w.store.lastChange).toBeUndefined();
  });

  it("reports a canary that does not come up, with its words, and moves nothing", async () => {
    const w = await running();
    const before = await pids(w.c);
    const lua = new Map(w.c.lua);
    w.c.failStart.add("kresd:kresd256");
    w.c.output.set("kresd:kresd256", ["[system] error while loading config: kresd256.lua:9: boom"]);
    const plan = await w.service.planChange("put", "/lua", { script: "os.exit(1)" }, {}, "canary", "t");
    expect(plan.canary).toEqual({
      ok: false,
      message:
        "the new configuration was refused by a canary kresd: [system] error while loading config: kresd256.lua:9: boom",
    });
    expect(plan.processes.restart).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    expect(await pids(w.c)).toEqual(before);
    expect(w.c.lua).toEqual(lua);
    expect(w.store.snapshot.config.lua).toEqual(validateConfig({ rundir }).lua);
  });
});
