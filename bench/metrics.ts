/**
 * How long GET /metrics/prometheus takes with 1 and with 8 workers, against GET / (the cheapest
 * answer of the API). Prints a table and the two targets; not a test.
 * Run: npm run build && node dist/bench/metrics.js
 *
 * For each worker count a whole resolver runs (bin/knot-resolver in a temporary directory, offline
 * guard in its Lua, monitoring 'lazy' as by default). The workers answer a few DNS queries first so
 * their counters are not all zero; the first metrics requests (which load the stats module) are a
 * warm-up. Then the two endpoints are requested alternately, one request at a time; a metrics
 * answer counts only if it is 200 and has resolver_metrics_loaded 1 for every worker.
 *
 * With 8 workers it also prints what no manager code can go below on this machine: the same
 * control-socket round trips sent from the benchmark itself on kept connections (to 1 worker and to
 * all 8 at once), once with the scrape's own query and once with the trivial Lua `1`. kresd spends
 * tens of microseconds of CPU on any control command, so with fewer cores than workers the 8-worker
 * figure is bounded by the core count, not by the manager.
 */
import { execFile } from "node:child_process";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { ControlConnection } from "../lib/controller/kresd/control-socket.js";
import {
  fmtMs,
  isMain,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
  type FloorFigure,
  type Headline,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKER_COUNTS = [1, 8] as const;
const WARMUP = 20;
const REQUESTS = 200;
const DNS_QUERIES = 20;
/** Round trips per floor figure. */
const FLOOR_ROUNDS = 400;
const SCRAPE_QUERY = "collect_metric_values()";
/** Targets: 8 workers ≤ SCALE × 1 worker, and ≤ VS_INDEX × GET /. */
const SCALE = 1.5;
const VS_INDEX = 4;

interface Row {
  workers: number;
  metrics: number[];
  index: number[];
  /** Bare control-socket round trips, median ms, by query and by how many workers were asked. */
  floor?: { query: string; one: number; all: number }[];
  error?: string;
  leftovers: number[];
}

const progress = progressOf("metrics");
const fmt = (ms: number): string => fmtMs(ms, 2);

function kdig(port: number): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("kdig", ["@127.0.0.1", "-p", String(port), "+timeout=2", "+retry=0", "localhost", "A"], (e) =>
      e ? reject(e) : resolve(),
    ),
  );
}

async function timed(resolver: BenchResolver, path: string, check: (text: string) => void): Promise<number> {
  const start = performance.now();
  const r = await resolver.api("GET", path, undefined, 30_000);
  const ms = performance.now() - start;
  if (r.status !== 200) throw new Error(`GET ${path} answered ${r.status}: ${r.text.slice(0, 300)}`);
  check(r.text);
  return ms;
}

/** Every worker's statistics made it into the exposition. */
const allLoaded = (workers: number) => (text: string) => {
  const loaded = text.match(/^resolver_metrics_loaded\{[^}]*\} 1$/gm)?.length ?? 0;
  if (loaded !== workers) throw new Error(`metrics of ${loaded} of ${workers} workers loaded`);
};

async function benchWorkers(workers: number): Promise<Row> {
  const row: Row = { workers, metrics: [], index: [], leftovers: [] };
  const t0 = performance.now();
  const ran = await withResolver(
    { workers },
    { progress, label: `${workers} worker(s): ` },
    async (resolver) => {
      progress(
        `${workers} worker(s): resolver ready in ${fmt(performance.now() - t0)} ms (port ${resolver.port})`,
      );
      for (let i = 0; i < DNS_QUERIES; i++) await kdig(resolver.port);
      for (let i = 0; i < WARMUP; i++) {
        await timed(resolver, "/metrics/prometheus", allLoaded(workers));
        await timed(resolver, "/", () => undefined);
      }
      for (let i = 0; i < REQUESTS; i++) {
        row.metrics.push(await timed(resolver, "/metrics/prometheus", allLoaded(workers)));
        row.index.push(await timed(resolver, "/", () => undefined));
      }
      progress(
        `${workers} worker(s): /metrics/prometheus median ${fmt(median(row.metrics))} ms, GET / ${fmt(median(row.index))} ms`,
      );
      if (workers > 1) row.floor = await roundTripFloor(resolver);
    },
  );
  row.error = ran.error;
  row.leftovers = ran.leftovers;
  return row;
}

/**
 * Median time of one line of Lua sent at once to the first worker alone and to every worker, on
 * connections opened beforehand (as the manager keeps them), nothing parsed: the least a scrape
 * that asks every worker can cost.
 */
async function roundTripFloor(
  resolver: BenchResolver,
): Promise<{ query: string; one: number; all: number }[]> {
  const sockets = (await resolver.workerPids()).map((pid) =>
    path.join(resolver.rundir, "control", String(pid)),
  );
  const connections = sockets.map((s) => new ControlConnection(s));
  try {
    const out: { query: string; one: number; all: number }[] = [];
    for (const query of [SCRAPE_QUERY, "1"]) {
      const timeAsking = async (cs: ControlConnection[]): Promise<number> => {
        const xs: number[] = [];
        for (let i = 0; i < WARMUP + FLOOR_ROUNDS; i++) {
          const start = performance.now();
          await Promise.all(cs.map((c) => c.ask(query, 5000)));
          if (i >= WARMUP) xs.push(performance.now() - start);
        }
        return median(xs);
      };
      out.push({ query, one: await timeAsking(connections.slice(0, 1)), all: await timeAsking(connections) });
    }
    return out;
  } finally {
    for (const c of connections) c.destroy();
  }
}

export async function run(): Promise<BenchOutcome> {
  const rows: Row[] = [];
  for (const workers of WORKER_COUNTS) rows.push(await benchWorkers(workers));

  const table: string[][] = [["request", "workers", "median ms", "p10 ms", "p90 ms", "n"]];
  const pct = (xs: number[], p: number): number =>
    [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
  for (const r of rows) {
    for (const [what, xs] of [
      ["GET /metrics/prometheus", r.metrics],
      ["GET /", r.index],
    ] as const) {
      const ok = !r.error && xs.length === REQUESTS;
      table.push([
        what,
        String(r.workers),
        ok ? fmt(median(xs)) : "FAILED",
        ok ? fmt(pct(xs, 0.1)) : "-",
        ok ? fmt(pct(xs, 0.9)) : "-",
        String(xs.length),
      ]);
    }
  }
  printTable(table);

  const floor = rows.find((r) => r.floor)?.floor;
  if (floor) {
    const n = rows.find((r) => r.floor)?.workers ?? 0;
    console.log(`\ncontrol-socket round trips from outside the manager (${os.cpus().length} CPUs here):`);
    const t: string[][] = [["query", "1 worker ms", `${n} workers at once ms`, "ratio"]];
    for (const f of floor) t.push([f.query, fmt(f.one), fmt(f.all), `${(f.all / f.one).toFixed(2)} ×`]);
    printTable(t);
  }

  for (const r of rows.filter((r) => r.error)) console.log(`${r.workers} worker(s) failed: ${r.error}`);
  const [one, eight] = rows as [Row, Row];
  const headlines: Headline[] = [];
  const figures: FloorFigure[] = [];
  if (one.error || eight.error) {
    headlines.push({ figure: "metrics: GET /metrics/prometheus", value: "FAILED" });
    console.log("verdict: targets NOT MET (the run failed)");
  } else {
    const m1 = median(one.metrics);
    const m8 = median(eight.metrics);
    const index = median([...one.index, ...eight.index]);
    const verdict = (ok: boolean): string => (ok ? "MET" : "NOT MET");
    console.log(
      `target 1: 8 workers ${fmt(m8)} ms ${m8 <= SCALE * m1 ? "≤" : ">"} ${SCALE} × 1 worker ${fmt(m1)} ms` +
        ` = ${fmt(SCALE * m1)} ms (${(m8 / m1).toFixed(2)} ×): ${verdict(m8 <= SCALE * m1)}`,
    );
    console.log(
      `target 2: 8 workers ${fmt(m8)} ms ${m8 <= VS_INDEX * index ? "≤" : ">"} ${VS_INDEX} × GET / ${fmt(index)} ms` +
        ` = ${fmt(VS_INDEX * index)} ms (${(m8 / index).toFixed(2)} ×): ${verdict(m8 <= VS_INDEX * index)}`,
    );
    figures.push({
      figure: "/metrics (Prometheus) with 8 workers (median)",
      value: m8,
      unit: "ms",
      floor: m1,
      floorWhat: "with 1 worker",
      target: `≤ ${SCALE} × floor`,
      met: m8 <= SCALE * m1,
    });
    headlines.push(
      {
        figure: "metrics: GET /metrics/prometheus median ms, 1 / 8 workers (GET /)",
        value: `${fmt(m1)} / ${fmt(m8)} (${fmt(index)})`,
      },
      {
        figure: `metrics: targets (8w ≤ ${SCALE} × 1w; 8w ≤ ${VS_INDEX} × GET /)`,
        value: `${verdict(m8 <= SCALE * m1)}; ${verdict(m8 <= VS_INDEX * index)}`,
      },
    );
  }
  return { ok: !rows.some((r) => r.error || r.leftovers.length), headlines, figures };
}

if (isMain(import.meta.url)) await runStandalone(run);
