/**
 * Worker statistics for the management API: /metrics/json and /metrics/prometheus, as upstream
 * Knot Resolver 6 answers them.
 */
import type { SubprocessStatus } from "../../controller/interface.js";
import type { KresConfig } from "../../datamodel/config.js";
import { statisticsQuery } from "../../datamodel/lua/monitoring.js";
import { logger } from "../logger.js";
import {
  collectStatistics,
  DEFAULT_WORKER_TIMEOUT_MS,
  metricsWorkers,
  type WorkerReport,
} from "./collect.js";
import { renderPrometheus } from "./prometheus.js";
import type { WorkerStatistics } from "./statistics.js";

export { PROMETHEUS_CONTENT_TYPE } from "./prometheus.js";
export type { WorkerStatistics } from "./statistics.js";

/** /metrics/json: every running worker by its ID; null for one that gave no statistics. */
export type MetricsJson = Record<string, WorkerStatistics | null>;

export interface MetricsSource {
  /** The running config (worker count, rundir, monitoring mode). */
  config: () => KresConfig;
  /** The processes as the controller reports them. */
  processes: () => Promise<SubprocessStatus[]>;
  /** Per-worker answer timeout (default DEFAULT_WORKER_TIMEOUT_MS). */
  timeoutMs?: number;
}

export class WorkerMetrics {
  constructor(private readonly source: MetricsSource) {}

  async json(): Promise<MetricsJson> {
    const out: MetricsJson = {};
    for (const r of await this.collect()) out[r.id] = r.statistics ?? null;
    return out;
  }

  async prometheus(): Promise<string> {
    return renderPrometheus(await this.collect());
  }

  /**
   * Asks every worker at once. With monitoring 'manager-only' the workers keep no statistics: each
   * is listed without any, as upstream does, and none is asked.
   */
  private async collect(): Promise<WorkerReport[]> {
    const cfg = this.source.config();
    const workers = metricsWorkers(await this.source.processes(), cfg.workers);
    const query = statisticsQuery(cfg);
    if (query === undefined) return workers;
    const reports = await collectStatistics(workers, query, {
      rundir: cfg.rundir,
      timeoutMs: this.source.timeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS,
    });
    for (const r of reports)
      if (r.error !== undefined) logger.warning(`metrics: no statistics from ${r.id} (pid ${r.pid}): ${r.error}`);
    return reports;
  }
}
