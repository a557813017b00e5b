import { jest } from "@jest/globals";
import {
  SubprocessError,
  type SubprocessController,
  type SubprocessStatus,
} from "../../../lib/controller/interface.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { KresManager } from "../../../lib/manager/kres-manager.js";
import { logger } from "../../../lib/manager/logger.js";
import { testRundir } from "../../helpers/validation.js";

const rundir = testRundir("krm-mgr-");
logger.silent = true;

/** An in-memory controller: processes are rows whose state the test changes. */
class FakeController implements SubprocessController {
  rows = new Map<string, SubprocessStatus>();
  nextPid = 1000;
  calls: string[] = [];
  failStart = new Set<string>();
  fatalReason: string | undefined;

  constructor(maxWorkers: number, gc = true) {
    for (let id = 0; id <= maxWorkers; id++) {
      const name = `kresd:kresd${id}`;
      this.rows.set(name, { name, kind: "kresd", id, state: "stopped", startedAt: 0 });
    }
    if (gc) this.rows.set("cache-gc", { name: "cache-gc", kind: "cache-gc", state: "stopped", startedAt: 0 });
  }
  async list() {
    return [...this.rows.values()].map((r) => ({ ...r }));
  }
  async status(name: string) {
    return { ...(this.rows.get(name) as SubprocessStatus) };
  }
  async createKresd(id: number) {
    this.calls.push(`create ${id}`);
    return `kresd:kresd${id}`;
  }
  async start(name: string) {
    this.calls.push(`start ${name}`);
    if (this.failStart.has(name)) throw new SubprocessError(name, "SPAWN_ERROR");
    const row = this.rows.get(name) as SubprocessStatus;
    Object.assign(row, { state: "running", pid: this.nextPid++ });
    return { ...row };
  }
  async stop(name: string) {
    this.calls.push(`stop ${name}`);
    Object.assign(this.rows.get(name) as SubprocessStatus, { state: "stopped", pid: undefined });
  }
  async notifyReady() {}
  async fatal(reason: string) {
    this.fatalReason = reason;
  }
  async shutdown() {}
  /** What supervisord's autorestart does after a kill -9. */
  crashAndRestart(name: string) {
    (this.rows.get(name) as SubprocessStatus).pid = this.nextPid++;
  }
}

const config = (workers: number, extra: Record<string, unknown> = {}) =>
  validateConfig(
    { rundir, workers, "max-workers": 4, cache: { storage: rundir }, ...extra },
    { strict: false },
  );

const quiet = { intervalMs: 1_000_000, maxFailures: 2, windowMs: 60_000 };
const tick = (m: KresManager) => (m as unknown as { check(): Promise<void> }).check();

describe("KresManager start-up", () => {
  it("starts the configured workers and cache-gc", async () => {
    const c = new FakeController(4);
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    expect(c.calls).toEqual([
      "create 0",
      "start kresd:kresd0",
      "create 1",
      "start kresd:kresd1",
      "start cache-gc",
    ]);
  });

  it("adopts running workers, starts missing ones and stops surplus ones", async () => {
    const c = new FakeController(4);
    await c.start("kresd:kresd0");
    await c.start("kresd:kresd3");
    await c.start("cache-gc");
    c.calls = [];
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    expect(c.calls).toEqual(["create 1", "start kresd:kresd1", "stop kresd:kresd3"]);
  });

  it("stops cache-gc when the garbage collector is disabled", async () => {
    const c = new FakeController(4);
    await c.start("cache-gc");
    c.calls = [];
    const m = new KresManager(
      c,
      config(1, { cache: { storage: rundir, "garbage-collector": false } }),
      quiet,
    );
    await m.start();
    m.stop();
    expect(c.calls).toEqual(["create 0", "start kresd:kresd0", "stop cache-gc"]);
  });

  it("fails when a worker cannot start", async () => {
    const c = new FakeController(4);
    c.failStart.add("kresd:kresd1");
    await expect(new KresManager(c, config(2), quiet).start()).rejects.toThrow(SubprocessError);
  });
});

describe("KresManager watchdog", () => {
  it("counts a restarted worker (new PID) as a failure, without acting on it", async () => {
    const c = new FakeController(4);
    const m = new KresManager(c, config(2), quiet);
    await m.start();
    m.stop();
    c.calls = [];
    c.crashAndRestart("kresd:kresd0");
    await tick(m);
    expect(c.calls).toEqual([]);
    expect(c.fatalReason).toBeUndefined();
  });

  it("restarts a worker supervisord gave up on", async () => {
    const c = new FakeController(4);
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    Object.assign(c.rows.get("kresd:kresd0") as SubprocessStatus, { state: "fatal", pid: undefined });
    c.calls = [];
    await tick(m);
    expect(c.calls).toEqual(["start kresd:kresd0"]);
  });

  it("gives up once failures within the window exceed the limit", async () => {
    const c = new FakeController(4);
    const m = new KresManager(c, config(1), quiet);
    await m.start();
    m.stop();
    for (let i = 0; i < 3; i++) {
      c.crashAndRestart("kresd:kresd0");
      await tick(m);
    }
    expect(c.fatalReason).toMatch(/^3 worker failures within 60 s \(limit 2\), last: kresd:kresd0 died/);
  });

  it("forgets failures older than the window", async () => {
    const now = jest.spyOn(Date, "now");
    const c = new FakeController(4);
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
