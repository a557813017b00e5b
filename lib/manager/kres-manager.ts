import type { KresConfig } from "../datamodel/config.js";
import { cacheGcEnabled } from "../datamodel/cache.js";
import { renderWorkerLua } from "../datamodel/lua/index.js";
import {
  CACHE_GC,
  SubprocessError,
  type SubprocessController,
  type SubprocessStatus,
} from "../controller/interface.js";
import { logger } from "./logger.js";

export interface WatchdogOptions {
  /** How often the processes are checked. */
  intervalMs: number;
  /** More than this many worker failures within windowMs: give up. */
  maxFailures: number;
  windowMs: number;
}

export const DEFAULT_WATCHDOG: WatchdogOptions = { intervalMs: 1000, maxFailures: 5, windowMs: 60_000 };

/**
 * Keeps the set of running processes equal to what the config asks for: `workers` kresd
 * processes in slots 0…workers-1, and cache-gc when enabled. Knows nothing of HTTP.
 */
export class KresManager {
  private timer: NodeJS.Timeout | undefined;
  private readonly seenPids = new Map<number, number>();
  private failures: number[] = [];
  private checking = false;
  private gaveUp = false;

  constructor(
    private readonly controller: SubprocessController,
    private config: KresConfig,
    private readonly watchdog: WatchdogOptions = DEFAULT_WATCHDOG,
  ) {}

  get currentConfig(): KresConfig {
    return this.config;
  }

  /** Adopts running workers, starts missing ones, stops surplus ones; then starts the watchdog. */
  async start(): Promise<void> {
    await this.reconcile();
    this.timer = setInterval(() => void this.check(), this.watchdog.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async reconcile(): Promise<void> {
    const cfg = this.config;
    const lua = renderWorkerLua(cfg);
    const processes = await this.controller.list();
    const kresds = new Map(processes.filter((p) => p.kind === "kresd").map((p) => [p.id as number, p]));
    for (let id = 0; id < cfg.workers; id++) {
      const current = kresds.get(id);
      if (current?.state === "running" && current.pid) {
        logger.info(`adopted ${current.name} (pid ${current.pid})`);
        this.seenPids.set(id, current.pid);
        continue;
      }
      const name = await this.controller.createKresd(id, lua);
      const started = await this.controller.start(name);
      logger.info(`started ${name} (pid ${started.pid})`);
      if (started.pid) this.seenPids.set(id, started.pid);
    }
    for (const [id, p] of kresds) {
      if (id >= cfg.workers && isUp(p)) {
        await this.controller.stop(p.name);
        logger.info(`stopped surplus ${p.name}`);
      }
    }
    const gc = processes.find((p) => p.name === CACHE_GC);
    if (cacheGcEnabled(cfg) && gc && !isUp(gc)) {
      const started = await this.controller.start(CACHE_GC);
      logger.info(`started ${CACHE_GC} (pid ${started.pid})`);
    } else if (gc && isUp(gc) && !cacheGcEnabled(cfg)) {
      await this.controller.stop(CACHE_GC);
    }
  }

  /** One watchdog round: note worker deaths, restart what supervisord gave up on, give up if it keeps failing. */
  private async check(): Promise<void> {
    if (this.checking || this.gaveUp) return;
    this.checking = true;
    try {
      const processes = await this.controller.list();
      for (const p of processes) {
        if (p.kind !== "kresd" || (p.id as number) >= this.config.workers) continue;
        const id = p.id as number;
        const known = this.seenPids.get(id);
        if (p.state === "running" && p.pid) {
          if (known !== undefined && known !== p.pid)
            this.failed(`${p.name} died and was restarted (pid ${known} → ${p.pid})`);
          this.seenPids.set(id, p.pid);
        } else if (p.state === "fatal" || p.state === "exited" || p.state === "stopped") {
          this.failed(`${p.name} is ${p.state}${p.error ? `: ${p.error}` : ""}`);
          this.seenPids.delete(id);
          if (!this.gaveUp) await this.restart(p);
        }
      }
    } catch (e) {
      logger.warning(`watchdog: cannot check processes: ${(e as Error).message}`);
    } finally {
      this.checking = false;
    }
  }

  private async restart(p: SubprocessStatus): Promise<void> {
    try {
      const started = await this.controller.start(p.name);
      if (started.pid) this.seenPids.set(p.id as number, started.pid);
      logger.notice(`watchdog: restarted ${p.name} (pid ${started.pid})`);
    } catch (e) {
      if (e instanceof SubprocessError) logger.warning(`watchdog: ${e.message}`);
      else throw e;
    }
  }

  private failed(what: string): void {
    const now = Date.now();
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

function isUp(p: SubprocessStatus): boolean {
  return p.state === "running" || p.state === "starting" || p.state === "backoff";
}
