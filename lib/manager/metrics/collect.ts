import { WorkerGone, type SubprocessController, type SubprocessStatus } from "../../controller/interface.js";
import type { WorkerStatistics } from "./statistics.js";

/** A running kresd worker as the metrics name it (upstream's instance ID, e.g. 'kresd:kresd0'). */
export interface MetricsWorker {
  id: string;
  pid: number;
}

/**
 * What one worker gave: its statistics (nested for /metrics/json, MetricValues for a Prometheus
 * scrape), or why there are none.
 */
export interface WorkerReport<S = WorkerStatistics> extends MetricsWorker {
  statistics?: S;
  error?: string;
  /** Nothing listens on its control socket any more: the process is gone or was replaced. */
  gone?: true;
}

/** How long one worker may take to answer before it counts as missing. */
export const DEFAULT_WORKER_TIMEOUT_MS = 2000;

export interface CollectOptions<S> {
  /** Sends the query to a worker: the controller's command(). */
  command: SubprocessController["command"];
  timeoutMs?: number;
  /** Reads a worker's answer, e.g. parseStatisticsAnswer for the JSON of statisticsQuery(). */
  parse: (answer: string) => S;
}

/**
 * The workers whose statistics count: running kresd in slots 0…workers-1, ordered by slot. The
 * canary (slot CANARY_SLOT) and stopped slots are left out.
 */
export function metricsWorkers(processes: readonly SubprocessStatus[], workers: number): MetricsWorker[] {
  return processes
    .filter((p) => p.kind === "kresd" && p.state === "running" && p.pid !== undefined)
    .filter((p) => p.id !== undefined && p.id < workers)
    .sort((a, b) => (a.id as number) - (b.id as number))
    .map((p) => ({ id: p.name, pid: p.pid as number }));
}

/**
 * Sends `query` to every worker at once and waits for all, each for at most timeoutMs: a worker
 * that is hung (e.g. SIGSTOPped: it accepts the connection but never greets), gone or answering
 * nonsense comes back with an error instead of statistics. The query is the only line in flight on
 * its connection: it may load the stats module ('lazy'), after which kresd 5.6
 * drops whatever else was pipelined.
 */
export async function collectStatistics<S>(
  workers: readonly MetricsWorker[],
  query: string,
  opts: CollectOptions<S>,
): Promise<WorkerReport<S>[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS;
  return Promise.all(
    workers.map(async (w): Promise<WorkerReport<S>> => {
      try {
        const answer = await opts.command({ name: w.id, pid: w.pid }, query, { timeoutMs });
        return { ...w, statistics: opts.parse(answer) };
      } catch (e) {
        return {
          ...w,
          error: (e as Error).message,
          ...(e instanceof WorkerGone ? { gone: true as const } : {}),
        };
      }
    }),
  );
}
