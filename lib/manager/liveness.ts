/**
 * The watchdog's liveness check. A frozen worker (SIGSTOP, a Lua loop, a deadlock, a stuck LMDB
 * lock) keeps its process and its RUNNING state, and the shared listening sockets hide it from
 * clients (the other workers read what it does not), so only asking it shows it: every running
 * worker is asked a trivial command on its control socket, all of them at once; a worker that
 * misses `maxMisses` checks in a row is reported hung to the owner, which replaces it.
 *
 * It runs outside the manager's serial queue: a round lasts up to the bound when a worker hangs,
 * and that must not hold up changes. A missed check destroys its control connection (see
 * ControlPool), so the next check starts afresh and a late answer is never taken for its own.
 */
import { performance } from "node:perf_hooks";
import { WorkerGone, type SubprocessController, type SubprocessStatus } from "../controller/interface.js";
import { logger } from "./logger.js";

export interface LivenessOptions {
  /** A round of checks starts this often (or as soon as the previous one is over, if later). */
  intervalMs: number;
  /** How long a worker may take to answer one check. */
  timeoutMs: number;
  /** This many missed checks in a row: the worker is hung. */
  maxMisses: number;
}

/**
 * bench/liveness (2 workers on 2 cores) timed the check idle, under dnsperf at 8000 q/s, and while
 * clearing 20 000 cached names (chunks of 100, of 10 000, the whole cache; chunks of 10 000 under
 * 8000 q/s too): p50 0.4–0.6 ms, p99 ≤ 9 ms, worst 18 ms on a quiet machine; with other test runs
 * sharing the cores p50 ≤ 18 ms, p99 ≤ 115 ms, worst 186 ms (the clear under load). The bound is
 * ten times that worst, and one miss alone replaces nothing. A frozen worker is shown unresponsive
 * some 3 s after it froze and replaced after about 7 s (interval + maxMisses × timeout).
 */
export const DEFAULT_LIVENESS: LivenessOptions = { intervalMs: 1000, timeoutMs: 2000, maxMisses: 3 };

/** The check: the worker's own PID, which any kresd that still runs its event loop answers at once. */
export const LIVENESS_COMMAND = "worker.pid";

/**
 * A timeout noticed this much later than due means the manager's own event loop was held up (e.g.
 * validating a huge config): the answer may be waiting unread, so it is not held against the worker.
 */
const LATE_BY_MS = 500;

/** How the checks of one worker run (one PID) stand while it misses them. */
export interface Misses {
  /** Missed checks in a row. */
  count: number;
  /** What the last missed check saw, e.g. "…/control/1234: no answer within 2000 ms". */
  last: string;
}

export interface LivenessOwner {
  /** Every process the controller runs (a round checks the running kresd workers among them). */
  list: SubprocessController["list"];
  command: SubprocessController["command"];
  /** Whether this worker is to be checked now (not the canary, not a worker being retired). */
  checked(p: SubprocessStatus): boolean;
  /** The worker missed `maxMisses` checks in a row; told once per run (PID). */
  hung(p: SubprocessStatus, misses: Misses): void;
}

export class LivenessCheck {
  /** By PID: runs that missed their last check(s). An answer removes the entry. */
  private readonly missing = new Map<number, Misses>();
  private readonly reported = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;

  constructor(
    private readonly owner: LivenessOwner,
    readonly options: LivenessOptions = DEFAULT_LIVENESS,
  ) {}

  /** Rounds from now on, one every intervalMs (never two at once). */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(this.options.intervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** The missed checks in a row of the run with `pid`; undefined while it answers. */
  missesOf(pid: number): Misses | undefined {
    return this.missing.get(pid);
  }

  /** One round: every worker to check is asked at once; resolves once each answered or missed. */
  async round(): Promise<void> {
    let processes: SubprocessStatus[];
    try {
      processes = await this.owner.list();
    } catch (e) {
      logger.warning(`liveness: cannot list the workers: ${(e as Error).message}`);
      return;
    }
    const workers = processes.filter(
      (p) => p.kind === "kresd" && p.state === "running" && p.pid !== undefined && this.owner.checked(p),
    );
    // A run that is over (or no longer checked) starts afresh if it is ever checked again.
    const current = new Set(workers.map((p) => p.pid as number));
    for (const pid of this.missing.keys()) if (!current.has(pid)) this.missing.delete(pid);
    for (const pid of this.reported) if (!current.has(pid)) this.reported.delete(pid);
    await Promise.all(workers.map((p) => this.check(p)));
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const started = performance.now();
      void this.round().finally(() =>
        this.schedule(Math.max(0, this.options.intervalMs - (performance.now() - started))),
      );
    }, delayMs);
    this.timer.unref();
  }

  private async check(p: SubprocessStatus): Promise<void> {
    const pid = p.pid as number;
    const sent = performance.now();
    try {
      await this.owner.command(p, LIVENESS_COMMAND, { timeoutMs: this.options.timeoutMs });
    } catch (e) {
      // No process or no control socket any more: it exited, which the watchdog sees by itself.
      if (e instanceof WorkerGone) return;
      const late = performance.now() - sent - this.options.timeoutMs;
      if (late > LATE_BY_MS) {
        logger.info(
          `liveness: check of ${p.name} (pid ${pid}) not judged: the manager was ${Math.round(late)} ms late`,
        );
        return;
      }
      this.missed(p, (e as Error).message);
      return;
    }
    const was = this.missing.get(pid);
    if (was) {
      this.missing.delete(pid);
      logger.notice(`liveness: ${p.name} (pid ${pid}) answers again after ${was.count} missed check(s)`);
    }
  }

  private missed(p: SubprocessStatus, what: string): void {
    const pid = p.pid as number;
    const misses = { count: (this.missing.get(pid)?.count ?? 0) + 1, last: what };
    this.missing.set(pid, misses);
    const { maxMisses } = this.options;
    logger.warning(`liveness: ${p.name} (pid ${pid}) missed check ${misses.count} of ${maxMisses}: ${what}`);
    if (misses.count >= maxMisses && !this.reported.has(pid)) {
      this.reported.add(pid);
      this.owner.hung(p, misses);
    }
  }
}
