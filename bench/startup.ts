/**
 * Start-up time against its floor. Prints tables; not a test.
 * Run: npm run build && node dist/bench/startup.js
 *
 * The floor: a bare kresd's spawn-to-READY=1 (harness/kresd-ready.ts), measured in the same run.
 * Start-up: from spawning bin/knot-resolver (the exec dance: launcher → supervisord → manager →
 * workers) until the API socket answers GET /, until a DNS query is answered (an A query for a
 * local-data name sent every 5 ms over UDP; the first answer to any of them counts), and until
 * every worker sent READY=1; "ready" is the last of the three. For 1 and 4 workers, 3 runs each,
 * medians; the target (issue 17) is 4 workers ready within 0.5 s more than one bare kresd start.
 *
 * Where the time goes: the phases are read from supervisord's log (its lines carry wall-clock
 * milliseconds): supervisord started (the first node has validated the config, written
 * supervisord.conf and exec'd), the manager spawned, the manager's first line (its modules
 * loaded and the config read again), the workers' READY=1.
 *
 * The manager's memory is bench/memory.ts.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { firstAnswer } from "../harness/dns-probe.js";
import { measureBareReady } from "../harness/kresd-ready.js";
import { sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
  type Headline,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKER_COUNTS = [1, 4];
const RUNS = 3;
const BARE_RUNS = 5;
const TIMEOUT_MS = 60_000;
const PROBE_NAME = "startup.bench.test.";
const LOCAL_DATA = { addresses: { [PROBE_NAME]: "192.0.2.1" } };
/** Issue 17: ready within this much more than one bare kresd start. */
const TARGET_OVERHEAD_MS = 500;

const progress = progressOf("startup");

/** Phases of a start-up, ms after the spawn of bin/knot-resolver, from supervisord's log. */
interface Phases {
  supervisord: number;
  managerSpawned: number;
  managerFirstLine: number;
  firstWorkerReady: number;
  lastWorkerReady: number;
}

interface StartRun {
  workers: number;
  run: number;
  apiMs: number;
  dnsMs: number;
  dnsRcode?: number;
  /** The last of: API answers, DNS answered, every worker READY. */
  readyMs: number;
  phases?: Phases;
  error?: string;
}

/** supervisord's log time ("2026-01-31 12:00:00,123", local time) as epoch ms. */
function logTime(line: string): number {
  const m = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) /.exec(line);
  if (!m) return NaN;
  const [y, mo, d, h, mi, sec, ms] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return new Date(y, mo - 1, d, h, mi, sec, ms).getTime();
}

/** The phases in `log`, relative to `spawnedEpochMs`; undefined when one is missing. */
function phasesOf(log: string, spawnedEpochMs: number, workers: number): Phases | undefined {
  const lines = log.split("\n");
  const at = (re: RegExp): number => {
    const line = lines.find((l) => re.test(l));
    return line === undefined ? NaN : logTime(line) - spawnedEpochMs;
  };
  const ready = lines
    .filter((l) => /INFO success: kresd\d+ entered RUNNING state/.test(l))
    .map((l) => logTime(l) - spawnedEpochMs);
  const phases: Phases = {
    supervisord: at(/INFO supervisord started with pid/),
    managerSpawned: at(/INFO spawned: 'manager'/),
    managerFirstLine: at(/ manager\[\d+\]: /),
    firstWorkerReady: ready.length ? Math.min(...ready) : NaN,
    lastWorkerReady: ready.length === workers ? Math.max(...ready) : NaN,
  };
  return Object.values(phases).every(Number.isFinite) ? phases : undefined;
}

/** Polls GET / on the API socket until it answers 200; performance.now() of that answer. */
async function apiAnswers(resolver: BenchResolver): Promise<number> {
  const deadline = performance.now() + TIMEOUT_MS;
  let last = "no answer";
  while (performance.now() < deadline) {
    if (!resolver.running) throw new Error(`knot-resolver exited (${last})`);
    if (fs.existsSync(resolver.apiSocket)) {
      try {
        const r = await resolver.api("GET", "/", undefined, 1000);
        if (r.status === 200) return performance.now();
        last = `GET / answered ${r.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    await sleep(5);
  }
  throw new Error(`the API did not answer within ${TIMEOUT_MS} ms (${last})`);
}

/** A run that left processes behind after its stop failed. */
const leftoversError = (leftovers: number[]): string | undefined =>
  leftovers.length ? `leftover processes after stop: ${leftovers.join(", ")}` : undefined;

async function startOnce(workers: number, run: number): Promise<StartRun> {
  const row: StartRun = { workers, run, apiMs: NaN, dnsMs: NaN, readyMs: NaN };
  const ran = await withResolver(
    { workers, name: "startup", config: { "local-data": LOCAL_DATA }, launch: true },
    {
      progress,
      label: `${workers} worker(s), run ${run}: `,
      quiet: true,
      beforeStop: (r) => {
        // the log's times are wall clock
        row.phases = phasesOf(r.log, performance.timeOrigin + r.spawnedAt, workers);
      },
    },
    async (r) => {
      const t0 = r.spawnedAt;
      const [api, dns] = await Promise.all([
        apiAnswers(r),
        firstAnswer(r.port, PROBE_NAME, TIMEOUT_MS),
        r.waitReady(workers, TIMEOUT_MS),
      ]);
      row.apiMs = api - t0;
      row.dnsMs = dns.at - t0;
      row.dnsRcode = dns.rcode;
    },
  );
  row.error = ran.error ?? leftoversError(ran.leftovers);
  if (!row.error && !row.phases) row.error = "supervisord's log lacks a start-up phase";
  if (row.phases) row.readyMs = Math.max(row.apiMs, row.dnsMs, row.phases.lastWorkerReady);
  progress(
    `${workers} worker(s), run ${run}: ` +
      (row.error
        ? `FAILED: ${row.error}`
        : `API ${fmtMs(row.apiMs)} ms, DNS ${fmtMs(row.dnsMs)} ms (rcode ${row.dnsRcode}), ready ${fmtMs(row.readyMs)} ms`),
  );
  return row;
}

export async function run(): Promise<BenchOutcome> {
  const bare = await measureBareReady(BARE_RUNS);
  const floor = median(bare.times);
  progress(
    `bare kresd READY: median ${fmtMs(floor)} ms of ${BARE_RUNS} (warm-up ${fmtMs(bare.warmupMs)} ms)`,
  );
  const runs: StartRun[] = [];
  for (const workers of WORKER_COUNTS) for (let i = 1; i <= RUNS; i++) runs.push(await startOnce(workers, i));

  console.log("start-up: ms after spawning bin/knot-resolver, from supervisord's log and the probes");
  const p = (r: StartRun, f: (ph: Phases) => number) => (r.phases ? fmtMs(f(r.phases)) : "-");
  printTable([
    [
      "workers",
      "run",
      "supervisord started",
      "manager spawned",
      "manager's first line",
      "first worker READY",
      "last worker READY",
      "API answers",
      "DNS answers",
      "ready",
      "note",
    ],
    ...runs.map((r) => [
      String(r.workers),
      String(r.run),
      p(r, (ph) => ph.supervisord),
      p(r, (ph) => ph.managerSpawned),
      p(r, (ph) => ph.managerFirstLine),
      p(r, (ph) => ph.firstWorkerReady),
      p(r, (ph) => ph.lastWorkerReady),
      fmtMs(r.apiMs),
      fmtMs(r.dnsMs),
      fmtMs(r.readyMs),
      r.error
        ? `FAILED: ${r.error.split("\n")[0]!.slice(0, 100)}`
        : r.dnsRcode
          ? `DNS rcode ${r.dnsRcode}`
          : "",
    ]),
  ]);
  console.log("");
  const headlines: Headline[] = [];
  const rows: string[][] = [
    [
      "workers",
      `ready, median of ${RUNS} ms`,
      "bare kresd start (floor) ms",
      "overhead ms",
      "ready / floor",
      `target: overhead ≤ ${TARGET_OVERHEAD_MS} ms`,
    ],
  ];
  for (const workers of WORKER_COUNTS) {
    const good = runs.filter((r) => r.workers === workers && !r.error);
    const ready = good.length === RUNS ? median(good.map((r) => r.readyMs)) : NaN;
    const overhead = ready - floor;
    rows.push([
      String(workers),
      Number.isFinite(ready) ? fmtMs(ready) : "FAILED",
      fmtMs(floor),
      fmtMs(overhead),
      Number.isFinite(ready) ? `${(ready / floor).toFixed(1)}×` : "-",
      Number.isFinite(ready) ? (overhead <= TARGET_OVERHEAD_MS ? "met" : "NOT met") : "-",
    ]);
    headlines.push({
      figure: `startup: ${workers} worker(s) ready, median ms (overhead over a bare kresd start of ${fmtMs(floor)} ms)`,
      value: Number.isFinite(ready) ? `${fmtMs(ready)} (${fmtMs(overhead)})` : "FAILED",
    });
  }
  printTable(rows);
  const ready4 = median(runs.filter((r) => r.workers === 4 && !r.error).map((r) => r.readyMs));
  const all4 = runs.filter((r) => r.workers === 4 && !r.error).length === RUNS;
  return {
    ok: runs.every((r) => !r.error),
    headlines,
    figures: [
      {
        figure: "start-up: launch → 4 workers answer DNS and the API answers (median)",
        value: all4 ? ready4 : NaN,
        unit: "ms",
        floor,
        floorWhat: "bare kresd start",
        target: `≤ floor + ${TARGET_OVERHEAD_MS} ms`,
        met: all4 ? ready4 - floor <= TARGET_OVERHEAD_MS : undefined,
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
