/**
 * Worker statistics for the management API: /metrics/json and /metrics/prometheus, as upstream
 * Knot Resolver 6 answers them.
 */
import type { SubprocessController, SubprocessStatus } from "../../controller/interface.js";
import type { KresConfig } from "../../datamodel/config.js";
import {
  METRIC_KEYS,
  metricValuesQuery,
  statisticsQuery,
} from "../../datamodel/sections/monitoring/render.js";
import { logger } from "../logger.js";
import { collectStatistics, metricsWorkers, type MetricsWorker, type WorkerReport } from "./collect.js";
import { renderPrometheus } from "./prometheus.js";
import {
  parseMetricValues,
  parseStatisticsAnswer,
  type MetricValues,
  type WorkerStatistics,
} from "./statistics.js";

export { PROMETHEUS_CONTENT_TYPE } from "./prometheus.js";
export type { MetricValues, WorkerStatistics } from "./statistics.js";
export type { WorkerReport } from "./collect.js";

/** /metrics/json: every running worker by its ID; null for one that gave no statistics. */
export type MetricsJson = Record<string, WorkerStatistics | null>;

export interface MetricsSource {
  /** The running config (worker count, rundir, monitoring mode). */
  config: () => KresConfig;
  /** The processes as the controller reports them. */
  processes: () => Promise<SubprocessStatus[]>;
  /** Sends Lua to a worker: the controller's command(), which keeps the connections open. */
  command: SubprocessController["command"];
  /** Per-worker answer timeout (default collect.ts's DEFAULT_WORKER_TIMEOUT_MS, 2 s). */
  timeoutMs?: number;
}

export class WorkerMetrics {
  /** The last complete worker list (one running process per configured slot). */
  private known: MetricsWorker[] | undefined;

  constructor(private readonly source: MetricsSource) {}

  async json(): Promise<MetricsJson> {
    const out: MetricsJson = {};
    for (const r of await this.collect(statisticsQuery, parseStatisticsAnswer))
      out[r.id] = r.statistics ?? null;
    return out;
  }

  /** Asks only for the counters the exposition shows: a scrape costs the workers little. */
  async prometheus(): Promise<string> {
    return renderPrometheus(await this.values());
  }

  /**
   * The METRIC_KEYS counters of every running worker, as a Prometheus scrape reads them: what the
   * dashboard's live statistics (live.ts) sample.
   */
  async values(): Promise<WorkerReport<MetricValues>[]> {
    const parse = (answer: string) => parseMetricValues(answer, METRIC_KEYS.length);
    return this.collect(metricValuesQuery, parse);
  }

  /**
   * Asks every worker at once. With monitoring 'manager-only' the workers keep no statistics: each
   * is listed without any, as upstream does, and none is asked.
   */
  private async collect<S>(
    queryFor: (cfg: KresConfig) => string | undefined,
    parse: (answer: string) => S,
  ): Promise<WorkerReport<S>[]> {
    const cfg = this.source.config();
    const query = queryFor(cfg);
    const cached = this.known !== undefined && this.known.length === cfg.workers;
    let workers = cached ? (this.known as MetricsWorker[]) : await this.listWorkers(cfg);
    if (query === undefined) return workers;
    const opts = { command: this.source.command, timeoutMs: this.source.timeoutMs, parse };
    let reports = await collectStatistics(workers, query, opts);
    if (cached && reports.some((r) => r.gone)) {
      // A worker of the remembered list is gone: some slot was restarted. Ask those of the current
      // list that did not answer yet.
      workers = await this.listWorkers(cfg);
      const answered = new Map(reports.filter((r) => !r.gone).map((r) => [r.pid, r]));
      const again = await collectStatistics(
        workers.filter((w) => !answered.has(w.pid)),
        query,
        opts,
      );
      const byPid = new Map([...answered, ...again.map((r) => [r.pid, r] as const)]);
      reports = workers.map((w) => byPid.get(w.pid) as WorkerReport<S>);
    }
    for (const r of reports)
      if (r.error !== undefined)
        logger.warning(`metrics: no statistics from ${r.id} (pid ${r.pid}): ${r.error}`);
    return reports;
  }

  /**
   * The workers as the controller lists them (an XML-RPC round trip to supervisord, some ms: the
   * reason the list is remembered). Kept only when complete; a slot that is starting or restarting
   * makes the next request ask again.
   */
  private async listWorkers(cfg: KresConfig): Promise<MetricsWorker[]> {
    const workers = metricsWorkers(await this.source.processes(), cfg.workers);
    this.known = workers.length === cfg.workers ? workers : undefined;
    return workers;
  }
}
