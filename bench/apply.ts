/**
 * How long applying a config change through the API takes when it restarts every worker (canary +
 * rolling restart), against how long a bare kresd takes from spawn to READY. Prints a table; not a
 * test. Run: npm run build && node dist/bench/apply.js
 *
 * For each worker count a whole resolver runs (bin/knot-resolver in a temporary directory, offline
 * guard in its Lua); each timed PUT /v1/config/nsid sets a new value, so the rendered Lua changes
 * and every worker is replaced. A PUT counts only if it answered 200 and every worker PID changed.
 */
import { performance } from "node:perf_hooks";
import { measureBareReady } from "../harness/kresd-ready.js";
import {
  fmtMs,
  isMain,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKER_COUNTS = [1, 2, 4, 8];
const PUTS = 5;
const BARE_RUNS = 10;
/** The target: applying to n workers within n × FACTOR × a bare kresd's spawn-to-READY. */
const FACTOR = 5;
const TARGET_WORKERS = 4;

interface Row {
  workers: number;
  times: number[];
  startupMs?: number;
  error?: string;
  leftovers: number[];
}

const progress = progressOf("apply");

/** One timed PUT that must restart every worker; returns its time or throws why it does not count. */
async function timedPut(resolver: BenchResolver, workers: number, value: string): Promise<number> {
  const before = await resolver.workerPids();
  if (before.length !== workers) throw new Error(`${before.length} workers running before the PUT`);
  const start = performance.now();
  const r = await resolver.api("PUT", "/v1/config/nsid", JSON.stringify(value));
  const ms = performance.now() - start;
  if (r.status !== 200) throw new Error(`PUT /v1/config/nsid answered ${r.status}: ${r.text.slice(0, 300)}`);
  const after = await resolver.workerPids();
  const kept = after.filter((pid) => before.includes(pid));
  if (after.length !== workers || kept.length > 0)
    throw new Error(
      `worker PIDs did not all change: before ${before.join(",")}, after ${after.join(",")}` +
        (kept.length ? ` (kept ${kept.join(",")})` : ""),
    );
  return ms;
}

async function benchWorkers(workers: number): Promise<Row> {
  const row: Row = { workers, times: [], leftovers: [] };
  const t0 = performance.now();
  const ran = await withResolver(
    { workers },
    { progress, label: `${workers} worker(s): ` },
    async (resolver) => {
      row.startupMs = performance.now() - t0;
      progress(`${workers} worker(s): resolver ready in ${fmtMs(row.startupMs)} ms (port ${resolver.port})`);
      for (let i = 1; i <= PUTS; i++) {
        const ms = await timedPut(resolver, workers, `bench-apply-w${workers}-${i}`);
        row.times.push(ms);
        progress(`${workers} worker(s): PUT ${i}/${PUTS} ${fmtMs(ms)} ms`);
      }
    },
  );
  row.error = ran.error;
  row.leftovers = ran.leftovers;
  return row;
}

export async function run(): Promise<BenchOutcome> {
  progress(`bare kresd spawn-to-READY, ${BARE_RUNS} runs (+1 warm-up)`);
  const bare = await measureBareReady(BARE_RUNS);
  const readyMs = median(bare.times);
  progress(
    `bare kresd READY: median ${fmtMs(readyMs)} ms, min ${fmtMs(Math.min(...bare.times))}, max ${fmtMs(Math.max(...bare.times))}, warm-up ${fmtMs(bare.warmupMs)} ms`,
  );

  const rows: Row[] = [];
  for (const workers of WORKER_COUNTS) rows.push(await benchWorkers(workers));

  const table: string[][] = [
    [
      "workers",
      "apply median ms",
      "min",
      "max",
      "bare kresd READY median ms",
      `target (n × ${FACTOR} × READY) ms`,
      "met?",
    ],
  ];
  for (const r of rows) {
    const target = r.workers * FACTOR * readyMs;
    const ok = !r.error && r.times.length === PUTS;
    const med = ok ? median(r.times) : NaN;
    table.push([
      String(r.workers),
      ok ? fmtMs(med) : "FAILED",
      ok ? fmtMs(Math.min(...r.times)) : "-",
      ok ? fmtMs(Math.max(...r.times)) : "-",
      fmtMs(readyMs),
      fmtMs(target),
      ok ? (med <= target ? "yes" : "no") : "failed",
    ]);
  }
  printTable(table);

  const failed = rows.filter((r) => r.error);
  for (const r of failed) console.log(`${r.workers} worker(s) failed: ${r.error}`);
  const t = rows.find((r) => r.workers === TARGET_WORKERS);
  const target = TARGET_WORKERS * FACTOR * readyMs;
  let verdict = "NOT MET (the run failed)";
  if (!t || t.error || t.times.length !== PUTS) {
    console.log(`verdict: ${TARGET_WORKERS}-worker target NOT MET (the run failed)`);
  } else {
    const med = median(t.times);
    console.log(
      `verdict: ${TARGET_WORKERS}-worker apply median ${fmtMs(med)} ms ${med <= target ? "≤" : ">"} target ${fmtMs(target)} ms` +
        ` (${TARGET_WORKERS} × ${FACTOR} × bare READY ${fmtMs(readyMs)} ms): ${med <= target ? "MET" : "NOT MET"}` +
        ` (${(med / (TARGET_WORKERS * readyMs)).toFixed(1)} × READY per worker)`,
    );
    verdict = med <= target ? "MET" : "NOT MET";
  }
  const applied = (r: Row): string =>
    !r.error && r.times.length === PUTS ? fmtMs(median(r.times)) : "FAILED";
  return {
    ok: failed.length === 0 && !rows.some((r) => r.leftovers.length),
    headlines: [
      { figure: "apply: bare kresd spawn-to-READY median ms", value: fmtMs(readyMs) },
      {
        figure: `apply (PUT restarting every worker) median ms, ${WORKER_COUNTS.join("/")} workers`,
        value: rows.map(applied).join(" / "),
      },
      { figure: `apply: ${TARGET_WORKERS}-worker target (≤ ${fmtMs(target)} ms)`, value: verdict },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
