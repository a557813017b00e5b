import { jest } from "@jest/globals";
import {
  SubprocessError,
  type ClientPort,
  type SubprocessStatus,
} from "../../../lib/controller/interface.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { ApplyFailed, ChangeRefused } from "../../../lib/manager/errors.js";
import { KresManager } from "../../../lib/manager/kres-manager.js";
import { FakeController } from "./fake-controller.js";
import { logger } from "../../../lib/manager/logger.js";
import { testRundir } from "../../../harness/validation.js";

const rundir = testRundir("krm-mgr-");
/** The workers' Lua as the manager renders it: listening sockets come from supervisord. */
const HANDED = { socketsHandedOver: true };
logger.silent = true;

const config = (workers: number, extra: Record<string, unknown> = {}) =>
  validateConfig({ rundir, workers, cache: { storage: rundir }, ...extra }, { strict: false });

const quiet = { intervalMs: 1_000_000, maxFailures: 2, windowMs: 60_000 };
const tick = (m: KresManager) => (m as unknown as { check(): Promise<void> }).check();

describe("KresManager start-up", () => {
  it("starts the configured workers and cache-gc", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    expect([...c.calls].sort()).toEqual([
      "create 0",
      "create 1",
      "start cache-gc",
      "start kresd:kresd0",
      "start kresd:kresd1",
    ]);
    expect(c.calls.indexOf("create 1")).toBeLessThan(c.calls.indexOf("start kresd:kresd1"));
    expect((await c.list()).map((p) => [p.name, p.state])).toEqual([
      ["kresd:kresd0", "running"],
      ["kresd:kresd1", "running"],
      ["cache-gc", "running"],
    ]);
  });

  it("with nothing running yet, starts every worker and cache-gc at once", async () => {
    const c = new FakeController();
    const start = c.start.bind(c);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const waiting: string[] = [];
    c.start = async (name: string) => {
      waiting.push(name);
      await held; // no start is answered until every one was asked for
      return start(name);
    };
    const m = new KresManager(c, config(3), quiet);
    const started = m.start();
    for (let i = 0; i < 50 && waiting.length < 4; i++) await new Promise((r) => setImmediate(r));
    expect([...waiting].sort()).toEqual(["cache-gc", "kresd:kresd0", "kresd:kresd1", "kresd:kresd2"]);
    release();
    await started;
    m.stop();
    expect((await c.list()).filter((p) => p.state === "running")).toHaveLength(4);
  });

  it("adopts running workers, starts missing ones and stops surplus ones", async () => {
    const c = new FakeController();
    await c.createKresd(0, renderWorkerLua(config(2), HANDED));
    await c.start("kresd:kresd0");
    await c.start("kresd:kresd3");
    await c.start("cache-gc");
    c.calls = [];
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    expect(c.calls).toEqual(["create 1", "start kresd:kresd1", "stop kresd:kresd3"]);
  });

  it("replaces an adopted worker that runs other Lua, after a canary took the new Lua", async () => {
    const c = new FakeController();
    await c.createKresd(0, "-- an older config");
    await c.start("kresd:kresd0");
    c.calls = [];
    const m = new KresManager(
      c,
      config(1, { cache: { storage: rundir, "garbage-collector": { enable: false } } }),
      quiet,
    );
    await m.start();
    m.stop();
    expect(c.calls).toEqual([
      "stop kresd:kresd256",
      "create 256",
      "start kresd:kresd256",
      "create 0",
      "stop kresd:kresd0",
      "start kresd:kresd0",
      "stop kresd:kresd256",
    ]);
  });

  it("stops cache-gc when the garbage collector is disabled", async () => {
    const c = new FakeController();
    await c.start("cache-gc");
    c.calls = [];
    const m = new KresManager(
      c,
      config(1, { cache: { storage: rundir, "garbage-collector": { enable: false } } }),
      quiet,
    );
    await m.start();
    m.stop();
    expect(c.calls).toEqual(["create 0", "start kresd:kresd0", "stop cache-gc"]);
  });

  it("fails when a worker cannot start", async () => {
    const c = new FakeController();
    c.failStart.add("kresd:kresd1");
    await expect(new KresManager(c, config(2), quiet).start()).rejects.toThrow(SubprocessError);
  });
});

describe("KresManager watchdog", () => {
  it("counts a restarted worker (new PID) as a failure, without acting on it", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    c.calls = [];
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    expect(c.calls).toEqual([]);
    expect(c.fatalReason).toBeUndefined();
  });

  it("counts each worker's unplanned restarts for the process list; a change's replacements are not counted", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    const restarts = async () =>
      Object.fromEntries(
        (await m.processes())
          .filter((p) => p.kind === "kresd" && p.state === "running")
          .map((p) => [p.name, p.restarts]),
      );
    expect(await restarts()).toEqual({ "kresd:kresd0": 0, "kresd:kresd1": 0 });
    c.crashAndRestart("kresd:kresd1");
    await tick(m);
    expect(await restarts()).toEqual({ "kresd:kresd0": 0, "kresd:kresd1": 1 });
    await m.apply(config(2), { force: true });
    await tick(m);
    expect(await restarts()).toEqual({ "kresd:kresd0": 0, "kresd:kresd1": 1 });
  });

  it("restarts a worker supervisord gave up on", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    Object.assign(c.rows.get("kresd:kresd0") as SubprocessStatus, { state: "fatal", pid: undefined });
    c.calls = [];
    await tick(m);
    expect(c.calls).toEqual(["start kresd:kresd0"]);
  });

  it("gives up once failures within the window exceed the limit", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    for (let i = 0; i < 3; i++) {
      c.crashAndRestart("kresd:kresd0");
      await tick(m);
    }
    expect(c.fatalReason).toMatch(/^3 worker failures within 60 s \(limit 2\), last: kresd:kresd0 died/);
  });

  it("does not count a worker killed from outside (SIGKILL, SIGTERM) as a failure", async () => {
    const c = new FakeController();
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    for (let i = 0; i < 5; i++) {
      c.crashAndRestart("kresd:kresd0", { code: -1, signal: i % 2 ? 15 : 9 });
      await tick(m);
    }
    expect(c.fatalReason).toBeUndefined();
    c.crashAndRestart("kresd:kresd0", { code: 1, signal: -1 });
    await tick(m);
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    expect(c.fatalReason).toMatch(
      /^3 worker failures .* last: kresd:kresd0 died of signal 11 and was restarted/,
    );
  });

  it("forgets failures older than the window", async () => {
    const now = jest.spyOn(Date, "now");
    const c = new FakeController();
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    for (let i = 0; i < 5; i++) {
      now.mockReturnValue(i * 61_000);
      c.crashAndRestart("kresd:kresd0");
      await tick(m);
    }
    now.mockRestore();
    expect(c.fatalReason).toBeUndefined();
  });
});

describe("KresManager applying a new config", () => {
  const noGc = (workers: number, extra: Record<string, unknown> = {}) =>
    config(workers, { cache: { storage: rundir, "garbage-collector": { enable: false } }, ...extra });

  async function running(workers: number) {
    const c = new FakeController(false);
    const m = new KresManager(c, noGc(workers), quiet);
    await m.start();
    m.stop();
    c.calls = [];
    return { c, m };
  }

  it("tries new Lua on a canary, then replaces the workers in two waves, the canary retiring during the second", async () => {
    const { c, m } = await running(4);
    const pids = [0, 1, 2, 3].map((id) => c.rows.get(`kresd:kresd${id}`)?.pid);
    const next = noGc(4, { nsid: "changed" });
    await m.apply(next);
    const at = (call: string) => {
      const i = c.calls.indexOf(call);
      expect([call, i]).not.toEqual([call, -1]);
      return i;
    };
    // the canary first, and alone: nothing else moved before it accepted the Lua
    expect(c.calls.slice(0, 3)).toEqual(["stop kresd:kresd256", "create 256", "start kresd:kresd256"]);
    for (const id of [0, 1, 2, 3])
      expect(at(`stop kresd:kresd${id}`)).toBeLessThan(at(`start kresd:kresd${id}`));
    // wave 1 (slots 0 and 1) is running again before wave 2's old workers stop
    const wave1Up = Math.max(at("start kresd:kresd0"), at("start kresd:kresd1"));
    expect(wave1Up).toBeLessThan(Math.min(at("stop kresd:kresd2"), at("stop kresd:kresd3")));
    // the canary retires during wave 2, after wave 1 runs; nothing of it is left
    expect(c.calls.filter((x) => x === "stop kresd:kresd256")).toHaveLength(2);
    expect(c.calls.lastIndexOf("stop kresd:kresd256")).toBeGreaterThan(wave1Up);
    expect(c.calls).toHaveLength(3 + 4 * 3 + 1);
    for (const [id, pid] of pids.entries()) expect(c.rows.get(`kresd:kresd${id}`)?.pid).not.toBe(pid);
    expect(c.lua.get(3)).toBe(renderWorkerLua(next, HANDED));
    expect(m.currentConfig).toBe(next);
  });

  it("stops a retiring worker only once it resolves nothing and no client connection holds an unread query", async () => {
    /** Workers that answer on their control socket: busy for two looks, then quiet. */
    class Draining extends FakeController {
      looks = new Map<string, number>();
      override async command(worker: { name: string }, lua: string): Promise<string> {
        if (lua.includes("net.close")) {
          this.calls.push(`close listeners ${worker.name}`);
          return "'inet4:5353 inet4:5353 inet6:853'";
        }
        const n = (this.looks.get(worker.name) ?? 0) + 1;
        this.looks.set(worker.name, n);
        return n === 1 ? "3" : "0"; // worker.stats().concurrent: 3 requests, then none
      }
      override async streams(worker: { name: string }, ports: readonly ClientPort[]) {
        const busy = (this.looks.get(worker.name) ?? 0) < 3 ? 1 : 0;
        const where = ports.map((p) => `${p.ipv6 ? "[::]" : ""}${p.port}`).join(",");
        this.calls.push(`streams ${worker.name} on ${where}: busy ${busy}`);
        return { open: 2, busy };
      }
    }
    const c = new Draining(false);
    const m = new KresManager(c, noGc(1), quiet);
    await m.start();
    m.stop();
    c.calls = [];
    await m.apply(noGc(1, { nsid: "changed" }));
    expect(c.calls).toEqual([
      "stop kresd:kresd256",
      "create 256",
      "start kresd:kresd256",
      "create 0",
      "close listeners kresd:kresd0",
      "streams kresd:kresd0 on 5353,[::]853: busy 1", // looked at only once nothing is being resolved
      "streams kresd:kresd0 on 5353,[::]853: busy 0",
      "stop kresd:kresd0",
      "start kresd:kresd0",
      // the canary goes the same way
      "close listeners kresd:kresd256",
      "streams kresd:kresd256 on 5353,[::]853: busy 1",
      "streams kresd:kresd256 on 5353,[::]853: busy 0",
      "stop kresd:kresd256",
    ]);
  });

  it("only starts or stops the difference when the Lua stays the same", async () => {
    const { c, m } = await running(2);
    await m.apply(noGc(3));
    expect(c.calls).toEqual(["create 2", "start kresd:kresd2"]);
    c.calls = [];
    await m.apply(noGc(1));
    expect(c.calls).toEqual(["stop kresd:kresd1", "stop kresd:kresd2"]);
  });

  it("restarts every worker when forced, even with the same Lua", async () => {
    const { c, m } = await running(1);
    await m.apply(noGc(1), { force: true });
    expect(c.calls).toEqual([
      "stop kresd:kresd256",
      "create 256",
      "start kresd:kresd256",
      "create 0",
      "stop kresd:kresd0",
      "start kresd:kresd0",
      "stop kresd:kresd256",
    ]);
  });

  it("refuses Lua the canary does not start with, quoting its output, and moves nothing else", async () => {
    const { c, m } = await running(2);
    const before = new Map(c.lua);
    const pids = [...c.rows.values()].map((r) => r.pid);
    c.failStart.add("kresd:kresd256");
    c.output.set("kresd:kresd256", ["[system] error while loading config: kresd256.lua:3: boom", "bye"]);
    const refusal = m.apply(noGc(2, { nsid: "changed" }));
    await expect(refusal).rejects.toThrow(ChangeRefused);
    await expect(refusal).rejects.toThrow(
      /canary kresd: \[system\] error while loading config: kresd256.lua:3: boom/,
    );
    await refusal.catch((e: ChangeRefused) => expect(e.output).toEqual(c.output.get("kresd:kresd256")));
    expect(c.calls.filter((x) => !/ (kresd:kresd)?256$/.test(x))).toEqual([]);
    expect([...c.rows.values()].map((r) => r.pid)).toEqual(pids);
    expect(c.lua).toEqual(before);
    expect(m.currentConfig.nsid).toBeUndefined();
  });

  it("puts the previous config back when a worker fails after the canary passed", async () => {
    const { c, m } = await running(2);
    const old = m.currentConfig;
    c.failStart.add("kresd:kresd1");
    const failure = m.apply(noGc(2, { nsid: "changed" }));
    await expect(failure).rejects.toThrow(ApplyFailed);
    await expect(failure).rejects.toThrow(/the previous configuration was restored/);
    expect(m.currentConfig).toBe(old);
    expect([c.lua.get(0), c.lua.get(1)]).toEqual([
      renderWorkerLua(old, HANDED),
      renderWorkerLua(old, HANDED),
    ]);
    expect(c.rows.get("kresd:kresd1")?.state).toBe("running");
  });
});

describe("KresManager probation after a change", () => {
  const noGc = (workers: number, extra: Record<string, unknown> = {}) =>
    config(workers, { cache: { storage: rundir, "garbage-collector": { enable: false } }, ...extra });

  async function changed() {
    const c = new FakeController(false);
    const m = new KresManager(
      c,
      noGc(1),
      { ...quiet, maxFailures: 100 },
      { probationMs: 10_000, maxFailures: 2 },
    );
    const told: string[] = [];
    m.stability = {
      stable: (cfg) => told.push(`stable ${cfg.nsid}`),
      unstable: (cfg, reason) => told.push(`unstable ${cfg.nsid}: ${reason}`),
    };
    await m.start();
    m.stop();
    await m.apply(noGc(1, { nsid: "new" }));
    return { c, m, told };
  }

  it("reports the new config unstable when its workers fail twice within the probation", async () => {
    const { c, m, told } = await changed();
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    expect(told).toEqual([]);
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    expect(told).toEqual([
      expect.stringMatching(/^unstable new: 2 worker failures within 10 s of the change/),
    ]);
  });

  it("reports it stable once the probation is over without enough failures", async () => {
    const { c, m, told } = await changed();
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    const now = jest.spyOn(Date, "now").mockReturnValue(Date.now() + 11_000);
    await tick(m);
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    now.mockRestore();
    expect(told).toEqual(["stable new"]);
  });
});

describe("KresManager liveness check", () => {
  const noGc = (workers: number, extra: Record<string, unknown> = {}) =>
    config(workers, { cache: { storage: rundir, "garbage-collector": { enable: false } }, ...extra });
  const liveness = { intervalMs: 1_000_000, timeoutMs: 2000, maxMisses: 3 };
  /** One round of checks, as the timer would run it. */
  const round = (m: KresManager) =>
    (m as unknown as { liveness: { round(): Promise<void> } }).liveness.round();
  /** Waits until every job queued on the manager (a kill, a change) is done. */
  const settled = (m: KresManager) =>
    (m as unknown as { exclusive(fn: () => Promise<void>): Promise<void> }).exclusive(async () => {});
  const pidOf = (c: FakeController, id: number) => c.rows.get(`kresd:kresd${id}`)?.pid as number;
  const unresponsive = async (m: KresManager) =>
    (await m.processes()).filter((p) => p.unresponsive).map((p) => [p.name, p.unresponsive?.count]);

  async function running(workers: number, maxFailures = 0) {
    const c = new FakeController(false);
    const m = new KresManager(c, noGc(workers), { ...quiet, maxFailures, liveness });
    await m.start();
    m.stop();
    c.calls = [];
    return { c, m };
  }

  it("asks every running worker of the config, and finds nothing wrong while they answer", async () => {
    const { c, m } = await running(2);
    await round(m);
    expect(c.asked.sort()).toEqual([pidOf(c, 0), pidOf(c, 1)].sort());
    expect(await unresponsive(m)).toEqual([]);
  });

  it("shows a worker unresponsive from its first miss, and forgets the misses once it answers", async () => {
    const { c, m } = await running(2);
    const frozen = pidOf(c, 0);
    c.frozen.add(frozen);
    await round(m);
    await round(m);
    expect(await unresponsive(m)).toEqual([["kresd:kresd0", 2]]);
    c.frozen.delete(frozen);
    await round(m);
    expect(await unresponsive(m)).toEqual([]);
    // The count starts again: two more misses are not three in a row.
    c.frozen.add(frozen);
    await round(m);
    await round(m);
    await settled(m);
    expect(c.calls).toEqual([]);
    expect(pidOf(c, 0)).toBe(frozen);
  });

  it("kills the very run that missed maxMisses checks in a row, and counts its end as a failure", async () => {
    const { c, m } = await running(2);
    const frozen = pidOf(c, 1);
    c.frozen.add(frozen);
    await round(m);
    await round(m);
    await settled(m);
    expect(c.calls).toEqual([]);
    await round(m);
    await settled(m);
    expect(c.calls).toEqual([`kill kresd:kresd1 ${frozen}`]);
    expect(pidOf(c, 1)).not.toBe(frozen);
    expect(await unresponsive(m)).toEqual([]);
    // The watchdog sees the restart; with maxFailures 0 one failure is enough to give up.
    await tick(m);
    expect(c.fatalReason).toMatch(
      /^1 worker failures .* last: kresd:kresd1 killed by the watchdog as unresponsive \(3 liveness checks missed\) and was restarted \(pid \d+ → \d+\)$/,
    );
  });

  it("forgets the misses of a run that ended: its successor starts afresh", async () => {
    const { c, m } = await running(1);
    const frozen = pidOf(c, 0);
    c.frozen.add(frozen);
    await round(m);
    await round(m);
    c.crashAndRestart("kresd:kresd0", { code: -1, signal: 15 }); // an operator's SIGTERM meanwhile
    await round(m);
    await settled(m);
    await tick(m);
    expect(c.calls).toEqual([]);
    expect(c.fatalReason).toBeUndefined();
  });

  it("asks neither the canary nor a worker a change is stopping, so kills neither", async () => {
    const { c, m } = await running(1);
    const old = pidOf(c, 0);
    const seen: string[] = [];
    c.beforeStop = async (name) => {
      c.asked = [];
      // While kresd0 is being stopped, every process would miss its checks.
      if (name === "kresd:kresd0")
        c.frozen = new Set([...c.rows.values()].flatMap((r) => (r.pid === undefined ? [] : [r.pid])));
      for (let i = 0; i < 3; i++) await round(m);
      c.frozen.clear();
      seen.push(`${name}: ${c.asked.join(",") || "none"}`);
    };
    await m.apply(noGc(1, { nsid: "changed" }));
    await settled(m);
    const now = pidOf(c, 0);
    expect(seen).toEqual([
      `kresd:kresd256: ${old},${old},${old}`, // a leftover canary is stopped first
      "kresd:kresd0: none", // the canary runs meanwhile
      `kresd:kresd256: ${now},${now},${now}`,
    ]);
    expect(c.calls.filter((x) => x.startsWith("kill"))).toEqual([]);
  });

  it("kills only once a change in progress is over, and spares the worker it replaced", async () => {
    const { c, m } = await running(1);
    const frozen = pidOf(c, 0);
    c.frozen.add(frozen);
    let release = (): void => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    c.beforeStop = (name) => (name === "kresd:kresd256" ? gate : Promise.resolve());
    const change = m.apply(noGc(1, { nsid: "changed" }));
    for (let i = 0; i < 3; i++) await round(m); // not held up by the change
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(c.calls).toEqual([]);
    release();
    await change;
    await settled(m);
    const replaced = pidOf(c, 0);
    expect(replaced).not.toBe(frozen);
    // The change stopped the frozen run (by SIGKILL: it would not heed SIGTERM); the watchdog's
    // kill named that run, gone by then: nothing else was hit.
    expect(c.calls.filter((x) => x.startsWith("kill"))).toEqual([
      `kill-stop kresd:kresd0 ${frozen}`,
      `kill kresd:kresd0 ${frozen}`,
    ]);
    await tick(m);
    expect([pidOf(c, 0), c.ended.get("kresd:kresd0"), c.fatalReason]).toEqual([
      replaced,
      undefined,
      undefined,
    ]);
  });

  it("has a change stop a worker that misses its checks with SIGKILL at once, not SIGTERM", async () => {
    const { c, m } = await running(1);
    const frozen = pidOf(c, 0);
    c.frozen.add(frozen);
    await round(m); // one miss: unresponsive
    await m.apply(noGc(1, { nsid: "changed" }));
    expect(c.calls.filter((x) => /kresd0/.test(x))).toEqual([
      `kill-stop kresd:kresd0 ${frozen}`,
      "stop kresd:kresd0",
      "start kresd:kresd0",
    ]);
  });

  it("has a change stop a worker that does not take the drain with SIGKILL at once", async () => {
    const { c, m } = await running(1);
    const frozen = pidOf(c, 0);
    c.frozen.add(frozen); // no round yet: the drain finds it
    await m.apply(noGc(1, { nsid: "changed" }));
    expect(c.calls).toContain(`kill-stop kresd:kresd0 ${frozen}`);
    // A worker that is merely gone (no control socket) is stopped the usual way.
    c.calls = [];
    await m.apply(noGc(1, { nsid: "changed again" }));
    expect(c.calls.filter((x) => x.startsWith("kill"))).toEqual([]);
  });
});
