/**
 * How long applying a config change through the API takes when it restarts every worker (canary,
 * then every worker replaced at once), against how long a bare kresd takes from spawn to READY. Prints a table; not a
 * test. Run: npm run build && node dist/bench/apply.js
 *
 * For each worker count a whole resolver runs (bin/knot-resolver in a temporary directory, offline
 * guard in its Lua); each timed PUT /v1/config/nsid sets a new value, so the rendered Lua changes
 * and every worker is replaced. A PUT counts only if it answered 200 and every worker PID changed.
 *
 * Under load (issue 17's condition): the same PUTs, LOADED_CHANGES of them LOADED_GAP_MS apart, on 4
 * workers answering dnsperf at LOADED_QPS q/s of local-data names; their times, and the queries
 * dnsperf lost (no answer within 2 s), which must be 0.
 *
 * Then what persisting a change into the config file adds (issue target: ≤ 5 ms): the persister's
 * own step (diff, edit the text, write and fsync a temporary file, rename, fsync the directory) on
 * each example config, in process, for one-pointer changes (workers, logging/level); and end to end, PUTs that restart no worker
 * (/management/persist) with ?persist=true against ?persist=false on a 1-worker resolver.
 *
 * And what recording the change in the history adds on top (same ≤ 5 ms target for both): the
 * history's step (one entry written and fsynced, pruned at keep = 100 with the directory full) with
 * and without the persister's step, in process; and end to end, the same PUTs on a resolver whose
 * history is off (its directory unusable) with ?persist=false against a resolver recording them
 * with ?persist=true.
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
import { loadResolver, withLoad } from "../harness/load.js";
import { sleep } from "../harness/procs.js";
import { tmpDir } from "../harness/tmp.js";
import { REPO_ROOT } from "../harness/repo.js";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Snapshot } from "../lib/manager/config-store.js";
import { History } from "../lib/manager/history.js";
import { ConfigFiles } from "../lib/manager/persistence.js";
import { logger } from "../lib/manager/logger.js";
import { structuralEtag } from "../lib/utils/etag.js";
import { parseYamlOrJson } from "../lib/utils/parsing.js";

const WORKER_COUNTS = [1, 2, 4, 8];
const PUTS = 5;
const BARE_RUNS = 10;
/**
 * The target (issue 17): a change that replaces 4 workers (canary included) applied within
 * BARE_STARTS × a bare kresd's spawn-to-READY, whatever the worker count.
 */
const BARE_STARTS = 5;
const TARGET_WORKERS = 4;

const LOADED_CHANGES = 10;
const LOADED_QPS = 2000;
const LOADED_GAP_MS = 500;

interface LoadedRun {
  times: number[];
  sent: number;
  lost: number;
  error?: string;
  leftovers: number[];
}

interface Row {
  workers: number;
  times: number[];
  startupMs?: number;
  error?: string;
  leftovers: number[];
}

const progress = progressOf("apply");

const PERSIST_RUNS = 50;
const PERSIST_PUTS = 15;
/** The bound on what persisting (and recording the history entry) may add to an applied change. */
const PERSIST_TARGET_MS = 5;
/** The history's default size: a full one prunes an entry at each change. */
const HISTORY_KEEP = 100;

/** A snapshot for the persister, which reads only the document and its ETag. */
function snapshot(document: unknown): Snapshot {
  return { document, etag: structuralEtag(document), config: undefined as unknown as Snapshot["config"] };
}

/** The persister's step (stage + commit) on one example config, PERSIST_RUNS times: its times in ms. */
function persistStep(example: string): number[] {
  const file = path.join(tmpDir("krm-bench-persist-"), path.basename(example));
  fs.copyFileSync(example, file);
  const files = new ConfigFiles([file], "");
  const times: number[] = [];
  logger.silent = true; // one line per persisted change would drown the table
  for (let i = 0; i < PERSIST_RUNS; i++) {
    const before = parseYamlOrJson(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    // One pointer per change, as `kresctl config set` makes it: workers, then the logging level.
    const logging = before.logging as Record<string, unknown> | undefined;
    const next =
      i % 2 === 0
        ? { ...before, workers: 2 + ((i / 2) % 3) }
        : { ...before, logging: { ...logging, level: logging?.level === "debug" ? "info" : "debug" } };
    const start = performance.now();
    files.stage(snapshot(before), snapshot(next)).commit();
    times.push(performance.now() - start);
  }
  return times;
}

/** A history directory already holding `keep` entries of `document`, so each new one prunes one. */
function fullHistory(document: unknown, keep: number): History {
  const history = History.open(path.join(tmpDir("krm-bench-history-"), "history"), () => keep);
  for (let i = 0; i < keep; i++)
    history.record({ etag: structuralEtag({ i }), source: "bench", kind: "api", document });
  return history;
}

/**
 * The history's step (record one entry of the example's document: write, fsync, link, fsync the
 * directory, prune) on a full history, PERSIST_RUNS times; with `persist`, the persister's step
 * first in each run (as a persisted change does both): times in ms.
 */
function historyStep(example: string, persist: boolean): number[] {
  const file = path.join(tmpDir("krm-bench-history-"), path.basename(example));
  fs.copyFileSync(example, file);
  const files = new ConfigFiles([file], "");
  const history = fullHistory(parseYamlOrJson(fs.readFileSync(file, "utf8")), HISTORY_KEEP);
  const times: number[] = [];
  logger.silent = true;
  for (let i = 0; i < PERSIST_RUNS; i++) {
    const before = parseYamlOrJson(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const next = { ...before, workers: before.workers === 2 ? 3 : 2 };
    const start = performance.now();
    if (persist) files.stage(snapshot(before), snapshot(next)).commit();
    history.record({
      etag: structuralEtag(next),
      source: "PUT /v1/config/workers",
      kind: "api",
      document: next,
    });
    times.push(performance.now() - start);
  }
  return times;
}

/** One PUT of /management/persist (restarts no worker) with ?persist=`persist`: its time in ms. */
async function timedPersistPut(resolver: BenchResolver, value: boolean, persist: boolean): Promise<number> {
  const start = performance.now();
  const r = await resolver.api(
    "PUT",
    `/v1/config/management/persist?persist=${persist}`,
    JSON.stringify(value),
  );
  const ms = performance.now() - start;
  if (r.status !== 200)
    throw new Error(`PUT /v1/config/management/persist answered ${r.status}: ${r.text.slice(0, 300)}`);
  return ms;
}

/**
 * PUTs of /management/persist (no worker restart), each flipping the running value, all with
 * ?persist=`persist`: their times in ms. Each one changes the config (and with persist the file).
 */
async function flips(resolver: BenchResolver, persist: boolean): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < PERSIST_PUTS; i++) {
    times.push(await timedPersistPut(resolver, i % 2 === 0, persist));
  }
  return times;
}

/**
 * PUTs of /management/persist (no worker restarts), each flipping the running value, every third
 * one with ?persist=true (which then always changes the file: the two in between flip it back and
 * forth in memory only), the others with ?persist=false: ms of each kind.
 */
async function persistEndToEnd(resolver: BenchResolver): Promise<{ on: number[]; off: number[] }> {
  const out = { on: [] as number[], off: [] as number[] };
  for (let i = 0; i < 3 * PERSIST_PUTS; i++) {
    const persist = i % 3 === 0;
    (persist ? out.on : out.off).push(await timedPersistPut(resolver, i % 2 === 0, persist));
  }
  return out;
}

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

/** LOADED_CHANGES timed PUTs on TARGET_WORKERS workers under dnsperf at LOADED_QPS q/s. */
async function benchLoaded(): Promise<LoadedRun> {
  const out: LoadedRun = { times: [], sent: 0, lost: 0, leftovers: [] };
  const seconds = Math.ceil((LOADED_CHANGES * (LOADED_GAP_MS + 1500)) / 1000) + 4;
  const ran = await withResolver(
    loadResolver(TARGET_WORKERS, "apply-load"),
    { progress, label: "under load: " },
    async (resolver) => {
      const { load } = await withLoad(resolver, { qps: LOADED_QPS, seconds }, async () => {
        await sleep(1000);
        for (let i = 1; i <= LOADED_CHANGES; i++) {
          const ms = await timedPut(resolver, TARGET_WORKERS, `bench-apply-load-${i}`);
          out.times.push(ms);
          progress(`under load: PUT ${i}/${LOADED_CHANGES} ${fmtMs(ms)} ms`);
          await sleep(LOADED_GAP_MS);
        }
      });
      out.sent = load.sent;
      out.lost = load.lost;
    },
  );
  out.error = ran.error;
  out.leftovers = ran.leftovers;
  return out;
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
  progress(`under load: ${LOADED_CHANGES} PUTs on ${TARGET_WORKERS} workers, dnsperf ${LOADED_QPS} q/s`);
  const loaded = await benchLoaded();

  progress(`persisting: the persister's step on each example config, ${PERSIST_RUNS} runs`);
  const examples = fs
    .readdirSync(path.join(REPO_ROOT, "etc/config"))
    .filter((f) => f.startsWith("config.example."))
    .map((f) => path.join(REPO_ROOT, "etc/config", f));
  const steps = examples.map((e) => ({ example: path.basename(e), times: persistStep(e) }));
  progress(`persisting: ${3 * PERSIST_PUTS} PUTs restarting no worker, every third with ?persist=true`);
  let e2e: { on: number[]; off: number[] } | undefined;
  const e2eRun = await withResolver({ workers: 1 }, { progress, label: "persist: " }, async (resolver) => {
    e2e = await persistEndToEnd(resolver);
  });

  progress(`history: its step on each example config, ${PERSIST_RUNS} runs, without and with persisting`);
  const historySteps = examples.map((e) => ({
    example: path.basename(e),
    alone: historyStep(e, false),
    both: historyStep(e, true),
  }));
  progress(`history: ${PERSIST_PUTS} PUTs without history or persisting, then ${PERSIST_PUTS} with both`);
  let without: number[] | undefined;
  let withBoth: number[] | undefined;
  const withoutRun = await withResolver(
    // A history directory that cannot be made (under a file): the manager runs without one.
    { workers: 1, name: "apply-nohistory", config: { history: { storage: "/dev/null/history" } } },
    { progress, label: "no history: " },
    async (resolver) => {
      without = await flips(resolver, false);
    },
  );
  const withRun = await withResolver(
    { workers: 1, name: "apply-history" },
    { progress, label: "history: " },
    async (resolver) => {
      withBoth = await flips(resolver, true);
    },
  );

  const table: string[][] = [
    [
      "workers",
      "apply median ms",
      "min",
      "max",
      "bare kresd READY median ms",
      "apply / READY",
      `target (${BARE_STARTS} × READY) ms`,
      "met?",
    ],
  ];
  for (const r of rows) {
    const target = BARE_STARTS * readyMs;
    const ok = !r.error && r.times.length === PUTS;
    const med = ok ? median(r.times) : NaN;
    table.push([
      String(r.workers),
      ok ? fmtMs(med) : "FAILED",
      ok ? fmtMs(Math.min(...r.times)) : "-",
      ok ? fmtMs(Math.max(...r.times)) : "-",
      fmtMs(readyMs),
      ok ? `${(med / readyMs).toFixed(1)}×` : "-",
      fmtMs(target),
      ok ? (med <= target ? "yes" : "no") : "failed",
    ]);
  }
  printTable(table);
  console.log("");
  const loadedOk = !loaded.error && loaded.times.length === LOADED_CHANGES;
  const loadedMed = loadedOk ? median(loaded.times) : NaN;
  printTable([
    [
      `under dnsperf ${LOADED_QPS} q/s, ${TARGET_WORKERS} workers`,
      "apply median ms",
      "max",
      "apply / READY",
      "queries sent",
      "lost",
      `target ≤ ${BARE_STARTS} × READY, 0 lost`,
    ],
    [
      `${LOADED_CHANGES} PUTs replacing every worker`,
      loadedOk ? fmtMs(loadedMed) : "FAILED",
      loadedOk ? fmtMs(Math.max(...loaded.times)) : "-",
      loadedOk ? `${(loadedMed / readyMs).toFixed(1)}×` : "-",
      String(loaded.sent),
      String(loaded.lost),
      loadedOk ? (loadedMed <= BARE_STARTS * readyMs && loaded.lost === 0 ? "met" : "NOT met") : "-",
    ],
  ]);
  if (loaded.error) console.log(`under load: failed: ${loaded.error}`);

  const p95 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.95) - 1] as number;
  console.log("");
  const persistTable: string[][] = [
    ["what persisting adds", "median ms", "p95", "max", `target ≤ ${PERSIST_TARGET_MS} ms`],
  ];
  for (const s of steps)
    persistTable.push([
      `persister step (diff, edit, write+fsync, rename, fsync dir): ${s.example}`,
      fmtMs(median(s.times)),
      fmtMs(p95(s.times)),
      fmtMs(Math.max(...s.times)),
      median(s.times) <= PERSIST_TARGET_MS ? "met" : "NOT MET",
    ]);
  const added = e2e ? median(e2e.on) - median(e2e.off) : NaN;
  if (e2e)
    persistTable.push(
      [
        "PUT, no worker restart, ?persist=false (end to end)",
        fmtMs(median(e2e.off)),
        fmtMs(p95(e2e.off)),
        fmtMs(Math.max(...e2e.off)),
        "-",
      ],
      [
        "PUT, no worker restart, ?persist=true (end to end)",
        fmtMs(median(e2e.on)),
        fmtMs(p95(e2e.on)),
        fmtMs(Math.max(...e2e.on)),
        "-",
      ],
      [
        "difference of the medians (end to end)",
        fmtMs(added),
        "-",
        "-",
        added <= PERSIST_TARGET_MS ? "met" : "NOT MET",
      ],
    );
  else persistTable.push(["end to end", "FAILED", "-", "-", e2eRun.error ?? "failed"]);
  printTable(persistTable);
  const worstStep = Math.max(...steps.map((s) => median(s.times)));

  console.log("");
  const historyTable: string[][] = [
    [
      "what recording the history entry (and persisting) adds",
      "median ms",
      "p95",
      "max",
      `target ≤ ${PERSIST_TARGET_MS} ms`,
    ],
  ];
  const met = (ms: number) => (ms <= PERSIST_TARGET_MS ? "met" : "NOT MET");
  for (const h of historySteps)
    historyTable.push(
      [
        `history step (write+fsync, link, fsync dir, prune at ${HISTORY_KEEP}): ${h.example}`,
        fmtMs(median(h.alone)),
        fmtMs(p95(h.alone)),
        fmtMs(Math.max(...h.alone)),
        met(median(h.alone)),
      ],
      [
        `history + persister steps: ${h.example}`,
        fmtMs(median(h.both)),
        fmtMs(p95(h.both)),
        fmtMs(Math.max(...h.both)),
        met(median(h.both)),
      ],
    );
  const historyAdded = without && withBoth ? median(withBoth) - median(without) : NaN;
  if (without && withBoth)
    historyTable.push(
      [
        "PUT, no worker restart, no history, ?persist=false (end to end)",
        fmtMs(median(without)),
        fmtMs(p95(without)),
        fmtMs(Math.max(...without)),
        "-",
      ],
      [
        "PUT, no worker restart, history, ?persist=true (end to end)",
        fmtMs(median(withBoth)),
        fmtMs(p95(withBoth)),
        fmtMs(Math.max(...withBoth)),
        "-",
      ],
      ["difference of the medians (end to end)", fmtMs(historyAdded), "-", "-", met(historyAdded)],
    );
  else historyTable.push(["end to end", "FAILED", "-", "-", withoutRun.error ?? withRun.error ?? "failed"]);
  printTable(historyTable);
  const worstBoth = Math.max(...historySteps.map((h) => median(h.both)));

  const failed = rows.filter((r) => r.error);
  for (const r of failed) console.log(`${r.workers} worker(s) failed: ${r.error}`);
  const t = rows.find((r) => r.workers === TARGET_WORKERS);
  const target = BARE_STARTS * readyMs;
  let verdict = "NOT MET (the run failed)";
  if (!t || t.error || t.times.length !== PUTS) {
    console.log(`verdict: ${TARGET_WORKERS}-worker target NOT MET (the run failed)`);
  } else {
    const med = median(t.times);
    console.log(
      `verdict: ${TARGET_WORKERS}-worker apply median ${fmtMs(med)} ms ${med <= target ? "≤" : ">"} target ${fmtMs(target)} ms` +
        ` (${BARE_STARTS} × bare READY ${fmtMs(readyMs)} ms): ${med <= target ? "MET" : "NOT MET"}` +
        ` (${(med / readyMs).toFixed(1)} bare starts)`,
    );
    verdict = med <= target ? "MET" : "NOT MET";
  }
  const applied = (r: Row): string =>
    !r.error && r.times.length === PUTS ? fmtMs(median(r.times)) : "FAILED";
  const t4 = t && !t.error && t.times.length === PUTS ? median(t.times) : NaN;
  return {
    figures: [
      {
        figure: `apply: PUT that replaces ${TARGET_WORKERS} workers (median of ${PUTS})`,
        value: t4,
        unit: "ms",
        floor: readyMs,
        floorWhat: "bare kresd start",
        target: `≤ ${BARE_STARTS} × floor`,
        met: Number.isFinite(t4) ? t4 <= target : undefined,
      },
      {
        figure: `apply under dnsperf ${LOADED_QPS} q/s: ${LOADED_CHANGES} such PUTs (median)`,
        value: loadedMed,
        unit: "ms",
        floor: readyMs,
        floorWhat: "bare kresd start",
        target: `≤ ${BARE_STARTS} × floor, 0 lost`,
        met: loadedOk ? loadedMed <= target && loaded.lost === 0 : undefined,
        note: `${loaded.lost} of ${loaded.sent} queries lost`,
      },
    ],
    ok:
      failed.length === 0 &&
      !rows.some((r) => r.leftovers.length) &&
      !e2eRun.error &&
      !loaded.error &&
      !loaded.leftovers.length &&
      !e2eRun.leftovers.length &&
      ![withoutRun, withRun].some((r) => r.error || r.leftovers.length),
    headlines: [
      { figure: "apply: bare kresd spawn-to-READY median ms", value: fmtMs(readyMs) },
      {
        figure: `apply (PUT restarting every worker) median ms, ${WORKER_COUNTS.join("/")} workers`,
        value: rows.map(applied).join(" / "),
      },
      { figure: `apply: ${TARGET_WORKERS}-worker target (≤ ${fmtMs(target)} ms)`, value: verdict },
      {
        figure: `apply under dnsperf ${LOADED_QPS} q/s, ${TARGET_WORKERS} workers: median ms, bare starts, lost of sent`,
        value: loadedOk
          ? `${fmtMs(loadedMed)} (${(loadedMed / readyMs).toFixed(1)}×), ${loaded.lost} of ${loaded.sent}`
          : "FAILED",
      },
      {
        figure: `apply: persisting adds (persister step, worst example median / end-to-end difference), target ≤ ${PERSIST_TARGET_MS} ms`,
        value: `${fmtMs(worstStep)} / ${fmtMs(added)} ms`,
      },
      {
        figure: `apply: history entry + persisting add (both steps, worst example median / end-to-end difference), target ≤ ${PERSIST_TARGET_MS} ms`,
        value: `${fmtMs(worstBoth)} / ${fmtMs(historyAdded)} ms`,
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
