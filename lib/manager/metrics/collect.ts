import * as path from "node:path";
import type { SubprocessStatus } from "../../controller/interface.js";
import { controlCall } from "../../utils/kresd-control.js";
import { parseStatisticsAnswer, type WorkerStatistics } from "./statistics.js";

/** A running kresd worker as the metrics name it (upstream's instance ID, e.g. 'kresd:kresd0'). */
export interface MetricsWorker {
  id: string;
  pid: number;
}

/** What one worker gave: its statistics, or why there are none. */
export interface WorkerReport extends MetricsWorker {
  statistics?: WorkerStatistics;
  error?: string;
}

/** How long one worker may take to answer before it counts as missing. */
export const DEFAULT_WORKER_TIMEOUT_MS = 2000;

/**
 * The workers whose statistics count: running kresd in slots 0…workers-1, ordered by slot. The
 * canary (slot max-workers) and stopped slots are left out.
 */
export function metricsWorkers(processes: readonly SubprocessStatus[], workers: number): MetricsWorker[] {
  return processes
    .filter((p) => p.kind === "kresd" && p.state === "running" && p.pid !== undefined)
    .filter((p) => p.id !== undefined && p.id < workers)
    .sort((a, b) => (a.id as number) - (b.id as number))
    .map((p) => ({ id: p.name, pid: p.pid as number }));
}

/**
 * Sends `query` to every worker's control socket (RUNDIR/control/<pid>) at once and waits for all,
 * each for at most timeoutMs: a worker that is hung (e.g. SIGSTOPped: it accepts the connection
 * but never greets), gone or answering nonsense comes back with an error instead of statistics.
 */
export async function collectStatistics(
  workers: readonly MetricsWorker[],
  query: string,
  opts: { rundir: string; timeoutMs?: number },
): Promise<WorkerReport[]> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_WORKER_TIMEOUT_MS;
  return Promise.all(
    workers.map(async (w): Promise<WorkerReport> => {
      try {
        // One line per connection: the query may load the stats module ('lazy'), after which
        // kresd 5.6 drops whatever else was pipelined on that connection.
        const [answer] = await controlCall(path.join(opts.rundir, "control", String(w.pid)), [query], {
          timeoutMs,
          pipelined: false,
        });
        return { ...w, statistics: parseStatisticsAnswer(answer) };
      } catch (e) {
        return { ...w, error: (e as Error).message };
      }
    }),
  );
}
