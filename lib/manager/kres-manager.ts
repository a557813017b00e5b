import type { KresConfig } from "../datamodel/config.js";
import { cacheGcEnabled } from "../controller/cache-gc.js";
import { renderWorkerLua } from "../datamodel/worker-lua.js";
import { listenSockets, type ListenSocket } from "../datamodel/sections/network/sockets.js";
import {
  CACHE_GC,
  CANARY_SLOT,
  CommandTimeout,
  kresdName,
  SubprocessError,
  type ClientPort,
  type CommandOptions,
  type SubprocessController,
  type SubprocessStatus,
  type WorkerRef,
} from "../controller/interface.js";
import { retireLua, RETIRING_BUSY_LUA } from "../controller/kresd/retire.js";
import { SerialQueue } from "../utils/serial-queue.js";
import { ApplyFailed, ChangeRefused } from "./errors.js";
import { isUp, nothingChanges, planProcesses, type Observed, type ProcessPlan } from "./process-plan.js";
import { DEFAULT_LIVENESS, LivenessCheck, type LivenessOptions, type Misses } from "./liveness.js";
import { logger } from "./logger.js";

export interface WatchdogOptions {
  /** How often the processes are checked. */
  intervalMs: number;
  /** More than this many worker failures within windowMs: give up. */
  maxFailures: number;
  windowMs: number;
  /** The liveness check of running workers (default DEFAULT_LIVENESS). */
  liveness?: LivenessOptions;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { intervalMs: 1000, maxFailures: 5, windowMs: 60_000 };

/** A process as the manager reports it: the controller's view, plus what the liveness check saw. */
export interface ManagedProcess extends SubprocessStatus {
  /** A running worker that misses its liveness checks (it is replaced after enough of them). */
  unresponsive?: Misses;
  /** How often the watchdog saw this slot's process end unplanned and come back (kresd only). */
  restarts?: number;
}

/**
 * After a change, the workers are on probation: this many failures within probationMs mean the
 * new config passed the canary but does not run (e.g. Lua that exits after a while).
 */
export interface ProbationOptions {
  probationMs: number;
  maxFailures: number;
}

export const DEFAULT_PROBATION: ProbationOptions = { probationMs: 15_000, maxFailures: 2 };

/** What the manager tells its owner about a config's fate after it was applied. */
export interface StabilityListener {
  /** The config survived its probation. */
  stable(cfg: KresConfig): void;
  /** The config's workers keep dying: go back to the last stable config. */
  unstable(cfg: KresConfig, reason: string): void;
}

/** How a canary tried by a dry run fared; `message` says why it did not come up. */
export interface CanaryTrial {
  ok: boolean;
  message: string;
}

export interface ApplyOptions {
  /** Restart every worker even when its Lua would not change. */
  force?: boolean;
}

const KILL_SIGNALS = { SIGKILL: 9, SIGTERM: 15 } as const;

/** How long a retiring worker may take to finish what it accepted and find its clients quiet. */
const DRAIN_TIMEOUT_MS = 3000;

/** How often a draining worker is looked at. */
const DRAIN_POLL_MS = 20;

/** How many lines of a failed canary's own output end up in the refusal. */
const CANARY_OUTPUT_LINES = 12;

/**
 * Keeps the running processes equal to what a config asks for: `workers` kresd processes in slots
 * 0…workers-1 running that config's Lua, and cache-gc when enabled. Changes go through a canary in
 * slot CANARY_SLOT and a rolling restart. Knows nothing of HTTP.
 */
export class KresManager {
  private timer: NodeJS.Timeout | undefined;
  private readonly seenPids = new Map<number, number>();
  /** Unplanned restarts seen per process name, for the dashboard's overview. */
  private readonly restarts = new Map<string, number>();
  private failures: number[] = [];
  private lastFailed: { at: number; what: string } | undefined;
  private gaveUp = false;
  // One thing at a time: start-up, a change or a watchdog round; they all move processes.
  private readonly queue = new SerialQueue();
  private probation: { config: KresConfig; until: number; failures: string[] } | undefined;
  private readonly liveness: LivenessCheck;
  /** PIDs of workers a change is stopping: not checked for liveness, never killed as hung. */
  private readonly retiring = new Set<number>();
  /** PIDs the liveness check had killed, with the misses that did it: their end is a failure. */
  private readonly killedAsHung = new Map<number, Misses>();
  /** Told when a changed config turns out stable or not. */
  stability: StabilityListener | undefined;

  constructor(
    private readonly controller: SubprocessController,
    private config: KresConfig,
    private readonly watchdog: WatchdogOptions = DEFAULT_WATCHDOG,
    private readonly probationOptions: ProbationOptions = DEFAULT_PROBATION,
  ) {
    this.liveness = new LivenessCheck(
      {
        list: () => this.controller.list(),
        command: (worker, lua, opts) => this.controller.command(worker, lua, opts),
        checked: (p) => this.isServing(p),
        hung: (p, misses) => void this.exclusive(() => this.killHung(p, misses)),
      },
      watchdog.liveness ?? DEFAULT_LIVENESS,
    );
  }

  get currentConfig(): KresConfig {
    return this.config;
  }

  /** Adopts running workers (replacing those that run other Lua), starts missing ones, stops surplus ones; then the watchdog. */
  async start(): Promise<void> {
    await this.exclusive(async () => {
      if (!(await this.startFresh(this.config))) await this.converge(this.config, {}, true);
    });
    this.timer = setInterval(() => void this.check(), this.watchdog.intervalMs);
    this.liveness.start();
  }

  /**
   * Start-up when nothing runs yet (supervisord has just started us): every worker and cache-gc at
   * once, not one after the other, since no answer can be lost and the workers share their
   * sockets. False, with nothing started, when something runs: converge() adopts it.
   */
  private async startFresh(cfg: KresConfig): Promise<boolean> {
    await this.configure(cfg);
    if ((await this.controller.list()).some((p) => p.kind !== "manager" && isUp(p))) return false;
    const lua = workerLua(cfg);
    const sockets = listenSockets(cfg);
    const starting = Array.from({ length: cfg.workers }, async (_, id) => {
      await this.controller.createKresd(id, lua, sockets);
      const started = await this.controller.start(kresdName(id));
      logger.info(`started ${started.name} (pid ${started.pid})`);
      if (started.pid) this.seenPids.set(id, started.pid);
    });
    if (cacheGcEnabled(cfg))
      starting.push(
        this.controller.start(CACHE_GC).then((gc) => {
          logger.info(`started ${CACHE_GC} (pid ${gc.pid})`);
        }),
      );
    await Promise.all(starting);
    return true;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.liveness.stop();
  }

  /**
   * Makes the processes run `next`. Throws ChangeRefused when the canary does not take it (nothing
   * moved), ApplyFailed when a later step failed (the previous config is then put back).
   */
  async apply(next: KresConfig, options: ApplyOptions = {}): Promise<void> {
    await this.exclusive(async () => {
      const previous = this.config;
      try {
        await this.converge(next, options, false);
        this.config = next;
        this.probation = {
          config: next,
          until: Date.now() + this.probationOptions.probationMs,
          failures: [],
        };
      } catch (e) {
        if (e instanceof ChangeRefused) throw e;
        const what = (e as Error).message;
        logger.error(`applying the new configuration failed: ${what}; restoring the previous one`);
        try {
          await this.converge(previous, {}, false);
        } catch (again) {
          logger.crit(`restoring the previous configuration failed: ${(again as Error).message}`);
          throw new ApplyFailed(`${what}; restoring the previous configuration failed too`, false);
        }
        throw new ApplyFailed(`${what}; the previous configuration was restored`, true);
      }
    });
  }

  /**
   * Verifier: the workers' Lua can be rendered from `next` (a config the schema took may still be
   * one the renderer cannot write, e.g. too big); refusing here keeps it a refusal, not a failure.
   */
  verify(next: KresConfig): void {
    try {
      workerLua(next);
    } catch (e) {
      throw new ChangeRefused(
        `cannot write the workers' Lua for this configuration: ${(e as Error).message}`,
      );
    }
  }

  /**
   * What apply(next) would do to the processes, found by the decision apply() takes, without
   * doing it; nothing when `changes` is false (the config stays as it is). Both workers' Lua, for
   * the dry run to compare. With `canary`, a canary worker is started with next's Lua, waited for
   * as a change waits for it, and stopped: `canary` says whether it came up.
   */
  async plan(
    next: KresConfig,
    options: ApplyOptions & { changes: boolean; canary?: boolean },
  ): Promise<{ processes: ProcessPlan; lua: { running: string; next: string }; canary?: CanaryTrial }> {
    return this.exclusive(async () => {
      const processes = options.changes
        ? planProcesses(next.workers, cacheGcEnabled(next), await this.observe(next, options))
        : nothingChanges(await this.controller.list());
      const lua = { running: workerLua(this.config), next: workerLua(next) };
      return { processes, lua, ...(options.canary ? { canary: await this.tryCanary(next) } : {}) };
    });
  }

  /**
   * A canary with `cfg`'s Lua, started and stopped (drained as after a change), its slot left with
   * the Lua it had and supervisord with the sockets it had: a dry run changes nothing.
   */
  private async tryCanary(cfg: KresConfig): Promise<CanaryTrial> {
    const id = CANARY_SLOT;
    const before = await this.controller.kresdConfig(id);
    let trial: CanaryTrial;
    try {
      const started = await this.canary(id, workerLua(cfg), listenSockets(cfg));
      await this.retire(started);
      trial = {
        ok: true,
        message: `a canary kresd (pid ${started.pid}) came up with the new configuration and was stopped`,
      };
    } catch (e) {
      // canary() has put its slot back already.
      if (e instanceof ChangeRefused) return { ok: false, message: e.message };
      throw e;
    }
    if (before === undefined) await this.controller.removeKresd(id);
    else await this.controller.createKresd(id, before, listenSockets(this.config));
    // Let go of sockets only the canary wanted.
    await this.controller.configure(this.config);
    return trial;
  }

  /**
   * Every process the controller runs for us, as it reports them; a worker that misses its liveness
   * checks is marked `unresponsive` until it answers again or is replaced.
   */
  async processes(): Promise<ManagedProcess[]> {
    return (await this.controller.list()).map((p) => {
      const misses = p.kind === "kresd" && p.pid !== undefined ? this.liveness.missesOf(p.pid) : undefined;
      const restarts = p.kind === "kresd" ? { restarts: this.restarts.get(p.name) ?? 0 } : {};
      return misses ? { ...p, ...restarts, unresponsive: misses } : { ...p, ...restarts };
    });
  }

  /** kresd's answer to one line of Lua sent to a worker (the controller's command()). */
  command(worker: WorkerRef, lua: string, opts?: CommandOptions): Promise<string> {
    return this.controller.command(worker, lua, opts);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }

  /**
   * The one path from "what runs" to "what cfg asks for". Once a canary accepted the new Lua, the
   * running workers whose Lua differs (or all, when forced) are replaced in two waves, each slot
   * in place (retired, then started again), the slots of a wave at once; the canary retires during
   * the second wave, surplus workers last. Nothing is lost while slots are empty: every worker
   * listens on the same sockets, which supervisord keeps open (listen_fds), and half of the
   * workers or more, old or new, read them throughout.
   */
  private async converge(cfg: KresConfig, options: ApplyOptions, initial: boolean): Promise<void> {
    const lua = workerLua(cfg);
    const sockets = listenSockets(cfg);
    const canaryId = CANARY_SLOT;
    // At start-up supervisord's own config may be older than the manager (e.g. written by an
    // older version): it goes first, before any worker is counted on. At run time
    // it waits until the canary has accepted the change, so a refused change leaves it alone.
    if (initial) await this.configure(cfg);
    const seen = await this.observe(cfg, options);
    const plan = planProcesses(cfg.workers, cacheGcEnabled(cfg), seen);
    const kresds = new Map(seen.processes.filter((p) => p.kind === "kresd").map((p) => [p.name, p]));
    const restarting = plan.restart.filter((name) => name !== CACHE_GC);
    const canary = restarting.length > 0 ? await this.canary(canaryId, lua, sockets) : undefined;

    // The slots to fill: stale ones (retire the old worker, then start the new one) and empty ones.
    const slots: number[] = [];
    for (let id = 0; id < cfg.workers; id++) {
      const name = kresdName(id);
      const p = kresds.get(name);
      if (plan.unchanged.includes(name)) {
        if (initial) logger.info(`adopted ${name} (pid ${p?.pid})`);
        if (p?.pid) this.seenPids.set(id, p.pid);
      } else slots.push(id);
    }
    const fill = async (id: number): Promise<void> => {
      const name = kresdName(id);
      const restart = plan.restart.includes(name);
      await this.controller.createKresd(id, lua, sockets);
      if (restart) await this.retire(kresds.get(name) as SubprocessStatus);
      const s = await this.controller.start(name);
      logger.info(`${restart ? "restarted" : "started"} ${name} (pid ${s.pid})`);
      if (s.pid) this.seenPids.set(id, s.pid);
    };
    // Two waves of slots at once (one when there is one slot): while the first half is replaced,
    // the other half of the old workers and the canary keep reading the shared sockets, and while
    // the second half is, the first half's replacements do, and the canary retires. (Each kresd
    // start is CPU-bound: replacing more at once would not be faster on a few cores, and would
    // leave the canary alone to read.)
    const half = Math.ceil(slots.length / 2);
    const waves = slots.length > 1 ? [slots.slice(0, half), slots.slice(half)] : [slots];
    // The canary goes the way the others went: what it read is answered, its connections end quiet.
    // (Its slot may be missing from the list: a slot never started is not listed.)
    const leftover = kresds.get(kresdName(canaryId));
    const retireCanary = async (): Promise<void> => {
      if (canary) await this.retire(canary);
      else if (leftover && isUp(leftover)) await this.controller.stop(kresdName(canaryId));
    };
    await allSteps(waves[0]!.map(fill));
    await allSteps([...(waves[1] ?? []).map(fill), retireCanary()]);
    // Surplus workers last: they answered meanwhile.
    await allSteps(
      plan.stop.map(async (name) => {
        const p = kresds.get(name);
        if (!p) return; // cache-gc: below
        await this.retire(p);
        this.seenPids.delete(p.id as number);
        logger.info(`stopped surplus ${name}`);
      }),
    );

    if (!initial) await this.configure(cfg);
    // configure() has stopped a cache-gc whose program it removed or replaced; the plan says the rest.
    const gcUp = async () => {
      const gc = (await this.controller.list()).find((p) => p.name === CACHE_GC);
      return gc !== undefined && isUp(gc);
    };
    if (plan.stop.includes(CACHE_GC) && (await gcUp())) {
      await this.controller.stop(CACHE_GC);
      logger.info(`stopped ${CACHE_GC}`);
    } else if (plan.start.includes(CACHE_GC) || plan.restart.includes(CACHE_GC)) {
      const restart = plan.restart.includes(CACHE_GC);
      if (await gcUp()) {
        if (!restart) return;
        await this.controller.stop(CACHE_GC);
      }
      const started = await this.controller.start(CACHE_GC);
      logger.info(`${restart ? "restarted" : "started"} ${CACHE_GC} (pid ${started.pid})`);
    }
  }

  /**
   * What runs, as converge() decides from it: the processes, the worker slots `cfg` keeps whose
   * Lua is not `cfg`'s (all running ones when forced), whether cache-gc's settings change.
   */
  private async observe(cfg: KresConfig, options: ApplyOptions): Promise<Observed> {
    const lua = workerLua(cfg);
    const processes = await this.controller.list();
    const stale = new Set<number>();
    for (const p of processes) {
      const id = p.id as number;
      if (p.kind !== "kresd" || id >= cfg.workers || !isUp(p)) continue;
      if (options.force || (await this.controller.kresdConfig(id)) !== lua) stale.add(id);
    }
    const gcReplaced =
      cacheGcEnabled(cfg) && (await this.controller.configureReplaces(cfg)).includes(CACHE_GC);
    return { processes, stale, gcReplaced };
  }

  /**
   * Stops a worker without losing what it has accepted: it first closes its own copies of the
   * listening sockets (the shared sockets stay open in the other workers, so nothing queued on
   * them is lost), then finishes the requests it is resolving, and is stopped at a moment when it
   * resolves nothing and none of its client connections (TCP, DoT, DoH) holds a query it has not
   * read: they then end with every answer sent (DRAIN_TIMEOUT_MS at most). kresd 5.6 cannot end
   * them itself in time (its idle timer looks at a connection every net.tcp_in_idle, 10 s) nor
   * ask a client to leave (its edns-tcp-keepalive cannot say 0); a query a client sends after that
   * moment meets a closed connection, and RFC 7766 has the client send it again.
   */
  private async retire(p: SubprocessStatus): Promise<void> {
    const pid = p.pid;
    if (pid !== undefined) this.retiring.add(pid);
    try {
      // A worker that misses its liveness checks, or does not take the drain, would not heed
      // SIGTERM either: the change would wait for supervisord's stopwaitsecs.
      if (
        pid !== undefined &&
        p.state === "running" &&
        (this.liveness.missesOf(pid) !== undefined || !(await this.drain(p)))
      ) {
        logger.warning(`${p.name} (pid ${pid}) does not answer: stopping it with SIGKILL`);
        // Should that fail, the stop below still ends it, only later.
        await this.controller
          .kill(p, { stop: true })
          .catch((e: Error) => logger.warning(`${p.name}: SIGKILL failed: ${e.message}`));
      }
      await this.controller.stop(p.name);
    } finally {
      if (pid !== undefined) this.retiring.delete(pid);
    }
  }

  /**
   * Closes the worker's own listeners and waits until it finished its requests (or DRAIN_TIMEOUT_MS).
   * False when it did not answer at all within the liveness bound: it hangs.
   */
  private async drain(p: SubprocessStatus): Promise<boolean> {
    let ports: ClientPort[];
    try {
      const closed = await this.controller.command(p, retireLua(), {
        timeoutMs: this.liveness.options.timeoutMs,
      });
      ports = [...new Set(closed.match(/inet[46]:\d+/g))].map((w) => ({
        port: Number(w.slice(6)),
        ipv6: w.startsWith("inet6"),
      }));
      const udpClosed = /udp:closed \((.*)\)/.exec(closed);
      // Then UDP answers it had queued may be lost, as kresd's own net.close does.
      if (udpClosed) logger.warning(`${p.name}: UDP closed at once, not stopped first: ${udpClosed[1]}`);
      // Then its legacy DoH connections are not served any more, only closed at the stop.
      const legacyClosed = /doh-legacy:closed \((.*)\)/.exec(closed);
      if (legacyClosed) logger.warning(`${p.name}: legacy DoH closed, not paused: ${legacyClosed[1]}`);
    } catch (e) {
      logger.info(`${p.name}: not drained (${(e as Error).message}); stopping it anyway`);
      return !(e instanceof CommandTimeout);
    }
    try {
      const deadline = Date.now() + DRAIN_TIMEOUT_MS;
      while (Date.now() < deadline) {
        const busy = await this.controller.command(p, RETIRING_BUSY_LUA, { timeoutMs: 1000 });
        if (Number(busy) <= 0) {
          const streams = ports.length > 0 ? await this.controller.streams(p, ports) : undefined;
          if (!streams || streams.busy === 0) break;
        }
        await new Promise((r) => setTimeout(r, DRAIN_POLL_MS));
      }
    } catch (e) {
      logger.info(`${p.name}: not drained (${(e as Error).message}); stopping it anyway`);
    }
    return true;
  }

  /** A worker of the running config that no change is stopping: the liveness check asks it. */
  private isServing(p: SubprocessStatus): boolean {
    return (
      p.kind === "kresd" &&
      p.id !== undefined &&
      p.id < this.config.workers &&
      (p.pid === undefined || !this.retiring.has(p.pid))
    );
  }

  /**
   * Replaces a worker that missed its liveness checks: SIGKILL (it does not listen) to the very
   * run that missed them, then the controller restarts it like a crashed one, and the watchdog
   * counts that end as a failure. In the serial queue: a change may have replaced it meanwhile.
   */
  private async killHung(p: SubprocessStatus, misses: Misses): Promise<void> {
    const pid = p.pid as number;
    if (this.gaveUp || !this.isServing(p) || this.liveness.missesOf(pid) === undefined) return;
    this.killedAsHung.set(pid, misses);
    try {
      if (await this.controller.kill(p)) {
        logger.error(
          `watchdog: ${p.name} (pid ${pid}) is unresponsive: ${misses.count} liveness checks missed in a row ` +
            `(last: ${misses.last}); killed it with SIGKILL`,
        );
      } else {
        this.killedAsHung.delete(pid);
        logger.info(`watchdog: ${p.name} (pid ${pid}) was unresponsive but is gone already`);
      }
    } catch (e) {
      this.killedAsHung.delete(pid);
      logger.warning(`watchdog: cannot kill unresponsive ${p.name} (pid ${pid}): ${(e as Error).message}`);
    }
  }

  private async configure(cfg: KresConfig): Promise<void> {
    const replaced = await this.controller.configure(cfg);
    if (replaced.length > 0) logger.notice(`supervisord configuration updated: ${replaced.join(", ")}`);
  }

  /**
   * Starts one extra kresd with the new Lua. READY in time accepts the Lua (the canary keeps
   * running until the rollout is over); anything else refuses it with the worker's own words, the
   * slot left as it was.
   */
  private async canary(id: number, lua: string, sockets: readonly ListenSocket[]): Promise<SubprocessStatus> {
    const name = kresdName(id);
    await this.controller.stop(name); // left over from an interrupted change
    const before = await this.controller.kresdConfig(id);
    await this.controller.createKresd(id, lua, sockets);
    try {
      const started = await this.controller.start(name);
      logger.info(`canary ${name} (pid ${started.pid}) accepted the new configuration`);
      return started;
    } catch (e) {
      if (!(e instanceof SubprocessError)) throw e;
      const output = (await this.controller.lastOutput(name).catch(() => [])).slice(-CANARY_OUTPUT_LINES);
      // A worker that never ran has no output, but maybe a reason (e.g. a socket that cannot be bound).
      const spawnError =
        output.length > 0 ? undefined : (await this.controller.status(name).catch(() => undefined))?.error;
      await this.controller.stop(name).catch(() => undefined);
      if (before === undefined) await this.controller.removeKresd(id);
      else await this.controller.createKresd(id, before, listenSockets(this.config));
      // Let go of sockets only the canary wanted.
      await this.controller.configure(this.config).catch(() => []);
      const cause = failureSummary(output) ?? spawnError ?? e.message;
      logger.warning(`canary ${name} refused the new configuration: ${cause}`);
      throw new ChangeRefused(`the new configuration was refused by a canary kresd: ${cause}`, [], output);
    }
  }

  /** One watchdog round: note worker deaths, restart what supervisord gave up on, give up if it keeps failing. */
  private async check(): Promise<void> {
    if (this.queue.busy || this.gaveUp) return;
    await this.exclusive(async () => {
      try {
        const processes = await this.controller.list();
        const probation = this.probation;
        for (const p of processes) {
          if (p.kind !== "kresd" || (p.id as number) >= this.config.workers) continue;
          const id = p.id as number;
          const known = this.seenPids.get(id);
          if (p.state === "running" && p.pid) {
            if (known !== undefined && known !== p.pid) {
              this.countRestart(p.name);
              const how = await this.howItEnded(p.name, known);
              if (how.killed)
                logger.notice(`watchdog: ${p.name} was ${how.text} and restarted (pid ${known} → ${p.pid})`);
              else this.failed(`${p.name} ${how.text} and was restarted (pid ${known} → ${p.pid})`);
            }
            this.seenPids.set(id, p.pid);
          } else if (p.state === "fatal" || p.state === "exited" || p.state === "stopped") {
            const how = known !== undefined ? await this.howItEnded(p.name, known) : undefined;
            const what = `${p.name} is ${p.state}${how ? ` (${how.text})` : ""}${p.error ? `: ${p.error}` : ""}`;
            if (how?.killed) logger.notice(`watchdog: ${what}`);
            else this.failed(what);
            this.seenPids.delete(id);
            if (!this.gaveUp) await this.restart(p);
          }
        }
        if (probation && probation === this.probation && Date.now() > probation.until) {
          this.probation = undefined;
          this.stability?.stable(probation.config);
        }
      } catch (e) {
        logger.warning(`watchdog: cannot check processes: ${(e as Error).message}`);
      }
    });
  }

  /**
   * How the run with `pid` ended. SIGKILL or SIGTERM from outside (an operator, the OOM killer)
   * is not the worker failing by itself: it does not count towards giving up or a rollback. A
   * worker our liveness check killed did fail: it had stopped answering.
   */
  private async howItEnded(name: string, pid: number): Promise<{ killed: boolean; text: string }> {
    const hung = this.killedAsHung.get(pid);
    if (hung) {
      this.killedAsHung.delete(pid);
      return {
        killed: false,
        text: `killed by the watchdog as unresponsive (${hung.count} liveness checks missed)`,
      };
    }
    const exit = (await this.controller.exits(name).catch(() => [])).find((e) => e.pid === pid);
    if (!exit) return { killed: false, text: "died" };
    if (exit.signal === KILL_SIGNALS.SIGKILL || exit.signal === KILL_SIGNALS.SIGTERM) {
      return {
        killed: true,
        text: `killed by ${exit.signal === KILL_SIGNALS.SIGKILL ? "SIGKILL" : "SIGTERM"}`,
      };
    }
    return {
      killed: false,
      text: exit.signal >= 0 ? `died of signal ${exit.signal}` : `exited with code ${exit.code}`,
    };
  }

  private countRestart(name: string): void {
    this.restarts.set(name, (this.restarts.get(name) ?? 0) + 1);
  }

  private async restart(p: SubprocessStatus): Promise<void> {
    this.countRestart(p.name);
    try {
      const started = await this.controller.start(p.name);
      if (started.pid) this.seenPids.set(p.id as number, started.pid);
      logger.notice(`watchdog: restarted ${p.name} (pid ${started.pid})`);
    } catch (e) {
      if (e instanceof SubprocessError) logger.warning(`watchdog: ${e.message}`);
      else throw e;
    }
  }

  /** The last worker failure the watchdog saw (a death or hang not caused from outside). */
  get lastFailure(): { at: number; what: string } | undefined {
    return this.lastFailed;
  }

  private failed(what: string): void {
    const now = Date.now();
    this.lastFailed = { at: now, what };
    const probation = this.probation;
    if (probation && now <= probation.until) {
      probation.failures.push(what);
      if (probation.failures.length >= this.probationOptions.maxFailures) {
        this.probation = undefined;
        const reason = `${probation.failures.length} worker failures within ${this.probationOptions.probationMs / 1000} s of the change (${probation.failures.join("; ")})`;
        logger.error(`the new configuration does not run: ${reason}`);
        this.stability?.unstable(probation.config, reason);
      }
    }
    this.failures = [...this.failures.filter((t) => now - t < this.watchdog.windowMs), now];
    logger.warning(`watchdog: ${what}`);
    if (this.failures.length > this.watchdog.maxFailures && !this.gaveUp) {
      this.gaveUp = true;
      const reason = `${this.failures.length} worker failures within ${this.watchdog.windowMs / 1000} s (limit ${this.watchdog.maxFailures}), last: ${what}`;
      logger.crit(`giving up: ${reason}`);
      this.stop();
      void this.controller.fatal(reason).catch((e: Error) => logger.crit(`cannot shut down: ${e.message}`));
    }
  }
}

// A change's Lua is rendered by verify() and used again by converge(); big local data makes it
// worth rendering once per config object.
const rendered = new WeakMap<KresConfig, string>();

/** The Lua every worker runs for a config: listening sockets come from supervisord. */
function workerLua(cfg: KresConfig): string {
  let lua = rendered.get(cfg);
  if (lua === undefined) {
    lua = renderWorkerLua(cfg, { socketsHandedOver: true });
    rendered.set(cfg, lua);
  }
  return lua;
}

/**
 * Waits for every step, then throws the first failure: a failed step must not let the caller
 * (e.g. apply's restore) move processes that other steps are still moving.
 */
async function allSteps(steps: readonly Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(steps)).find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
}

/**
 * What a failed worker said went wrong: its last two lines of substance (no warnings, no Lua
 * stack trace, no boilerplate), e.g. "bind to '…': Address already in use; ERROR: net.listen() failed".
 */
function failureSummary(lines: readonly string[]): string | undefined {
  const said = lines.filter(
    (l) => l.trim() !== "" && !/^\s/.test(l) && !/^stack traceback:|warning|error occurred here/i.test(l),
  );
  return said.length > 0 ? said.slice(-2).join("; ") : undefined;
}
