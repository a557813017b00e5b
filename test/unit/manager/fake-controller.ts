/**
 * An in-memory SubprocessController for the manager's unit tests: processes are rows whose state
 * the test changes, every start, stop and slot write is logged in `calls`.
 */
import { cacheGcArgs, cacheGcEnabled } from "../../../lib/controller/cache-gc.js";
import {
  CACHE_GC,
  CommandTimeout,
  KRESD_SLOTS,
  SubprocessError,
  WorkerGone,
  type ClientPort,
  type ProcessExit,
  type StreamState,
  type SubprocessController,
  type SubprocessStatus,
  type WorkerRef,
} from "../../../lib/controller/interface.js";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { LIVENESS_COMMAND } from "../../../lib/manager/liveness.js";

const gcProgramOf = (cfg: KresConfig) => (cacheGcEnabled(cfg) ? cacheGcArgs(cfg).join(" ") : "");

/** An in-memory controller: processes are rows whose state the test changes. */
export class FakeController implements SubprocessController {
  rows = new Map<string, SubprocessStatus>();
  nextPid = 1000;
  calls: string[] = [];
  /** Names whose next start fails. */
  failStart = new Set<string>();
  fatalReason: string | undefined;
  /** Each slot's Lua, as createKresd left it. */
  lua = new Map<number, string>();
  /** What a process "printed" in its last run. */
  output = new Map<string, string[]>();
  /** How runs ended, per name. */
  ended = new Map<string, ProcessExit[]>();
  /** PIDs whose control socket takes lines but never answers (a frozen worker). */
  frozen = new Set<number>();
  /** PIDs asked on their control socket, in order. */
  asked: number[] = [];
  /** cache-gc's program as last configured ('' when disabled; undefined before the first configure). */
  gcProgram: string | undefined;
  /** Runs just before a process is stopped (e.g. a liveness round in the middle of a change). */
  beforeStop: ((name: string) => Promise<void>) | undefined;

  /** Like supervisord with our plugin: KRESD_SLOTS kresd slots, those never started not listed. */
  constructor(gc = true) {
    for (let id = 0; id < KRESD_SLOTS; id++) {
      const name = `kresd:kresd${id}`;
      this.rows.set(name, { name, kind: "kresd", id, state: "stopped", startedAt: 0 });
    }
    if (gc) this.rows.set("cache-gc", { name: "cache-gc", kind: "cache-gc", state: "stopped", startedAt: 0 });
  }
  async list() {
    return [...this.rows.values()]
      .filter((r) => r.kind !== "kresd" || r.state !== "stopped" || r.startedAt !== 0)
      .map((r) => ({ ...r }));
  }
  async status(name: string) {
    return { ...(this.rows.get(name) as SubprocessStatus) };
  }
  async createKresd(id: number, lua: string) {
    this.calls.push(`create ${id}`);
    this.lua.set(id, lua);
    return `kresd:kresd${id}`;
  }
  async kresdConfig(id: number) {
    return this.lua.get(id);
  }
  async removeKresd(id: number) {
    this.lua.delete(id);
  }
  async exits(name: string) {
    return this.ended.get(name) ?? [];
  }
  async lastOutput(name: string) {
    return this.output.get(name) ?? [];
  }
  /**
   * Like supervisord taking its rewritten config: a cache-gc whose program settings change (or
   * that is disabled) is stopped. Nothing is replaced the first time (start-up).
   */
  async configure(cfg: KresConfig) {
    const replaced = await this.configureReplaces(cfg);
    this.gcProgram = gcProgramOf(cfg);
    const gc = this.rows.get(CACHE_GC);
    if (replaced.includes(CACHE_GC) && gc?.state === "running") await this.stop(CACHE_GC);
    return replaced;
  }
  async configureReplaces(cfg: KresConfig) {
    const configured = this.gcProgram !== undefined;
    return configured && this.gcProgram !== gcProgramOf(cfg) ? [CACHE_GC] : [];
  }
  async start(name: string) {
    this.calls.push(`start ${name}`);
    // One failure per name: a retry (e.g. putting the old config back) then succeeds.
    if (this.failStart.delete(name)) throw new SubprocessError(name, "SPAWN_ERROR");
    const row = this.rows.get(name) as SubprocessStatus;
    Object.assign(row, { state: "running", pid: this.nextPid++, startedAt: this.nextPid });
    return { ...row };
  }
  async stop(name: string) {
    await this.beforeStop?.(name);
    this.calls.push(`stop ${name}`);
    Object.assign(this.rows.get(name) as SubprocessStatus, { state: "stopped", pid: undefined });
  }
  /**
   * The liveness check's `worker.pid` is answered (or not, by a frozen worker); anything else finds
   * no control socket: draining a retiring worker fails, and it is stopped anyway.
   */
  async command(worker: WorkerRef, lua: string): Promise<string> {
    if (worker.pid !== undefined && this.frozen.has(worker.pid))
      throw new CommandTimeout(`control/${worker.pid}: no answer within 2000 ms`);
    if (lua !== LIVENESS_COMMAND || worker.pid === undefined)
      throw new WorkerGone(`${worker.name}: no control socket`);
    this.asked.push(worker.pid);
    return String(worker.pid);
  }
  /** SIGKILL to that run only, then supervisord's autorestart (or, with stop, a stop). */
  async kill(worker: WorkerRef, opts: { stop?: boolean } = {}) {
    this.calls.push(`kill${opts.stop ? "-stop" : ""} ${worker.name} ${worker.pid}`);
    const row = this.rows.get(worker.name) as SubprocessStatus;
    if (row.pid !== worker.pid || row.state !== "running") return false;
    if (opts.stop) Object.assign(row, { state: "stopped", pid: undefined });
    else this.crashAndRestart(worker.name, { code: -1, signal: 9 });
    return true;
  }
  /** Nor does it see connections: retire() then waits for nothing of the kind. */
  async streams(_worker: { name: string }, _ports: readonly ClientPort[]): Promise<StreamState | undefined> {
    return undefined;
  }
  async notifyReady() {}
  async fatal(reason: string) {
    this.fatalReason = reason;
  }
  async shutdown() {}
  /** A worker dies (by default of SIGSEGV, a failure of its own) and supervisord's autorestart brings it back. */
  crashAndRestart(name: string, how: { code: number; signal: number } = { code: -1, signal: 11 }) {
    const row = this.rows.get(name) as SubprocessStatus;
    this.ended.set(name, [...(this.ended.get(name) ?? []), { pid: row.pid as number, ...how }]);
    row.pid = this.nextPid++;
  }
}
