/**
 * Start-up time and the manager's memory. Prints tables; not a test.
 * Run: npm run build && node dist/bench/startup.js
 *
 * Start-up: from spawning bin/knot-resolver (the exec dance: launcher → supervisord → manager →
 * workers) until the API socket answers GET /, until a DNS query is answered (an A query for a
 * local-data name sent every 5 ms over UDP; the first answer to any of them counts), and until
 * GET /processes/kresd lists every worker running; for 1 and 4 workers, 3 runs each, medians.
 *
 * Memory: VmRSS of the manager process (the PID GET / reports, /proc/<pid>/status) after start-up
 * and after 100 config changes that restart no worker: PUT /v1/config/workers alternating 3 / 2
 * (each change goes through the whole pipeline and starts or retires the third worker; the Lua is
 * the same, so workers 0 and 1 keep running, which is checked). cache-gc settings would restart
 * no worker either, but a SIGTERM that reaches a just-started kres-cache-gc can go unheeded until
 * supervisord's stopwaitsecs, which fails such a change now and then.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { firstAnswer } from "../harness/dns-probe.js";
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
const TIMEOUT_MS = 60_000;
const PROBE_NAME = "startup.bench.test.";
const LOCAL_DATA = { addresses: { [PROBE_NAME]: "192.0.2.1" } };

const RSS_WORKERS = 2;
const CHANGES = 100;
/** The worker counts the changes alternate between; the last one is RSS_WORKERS again. */
const WORKER_STEPS = [RSS_WORKERS + 1, RSS_WORKERS];
/** Let the manager settle (timers, GC) before reading its RSS. */
const SETTLE_MS = 2000;

const progress = progressOf("startup");

interface StartRun {
  workers: number;
  run: number;
  apiMs: number;
  dnsMs: number;
  dnsRcode?: number;
  allMs: number;
  error?: string;
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
  const row: StartRun = { workers, run, apiMs: NaN, dnsMs: NaN, allMs: NaN };
  const ran = await withResolver(
    { workers, name: "startup", config: { "local-data": LOCAL_DATA }, launch: true },
    { progress, label: `${workers} worker(s), run ${run}: `, quiet: true },
    async (r) => {
      const t0 = r.spawnedAt;
      const [api, dns, all] = await Promise.all([
        apiAnswers(r),
        firstAnswer(r.port, PROBE_NAME, TIMEOUT_MS),
        r.waitReady(workers, TIMEOUT_MS).then(() => performance.now()),
      ]);
      row.apiMs = api - t0;
      row.dnsMs = dns.at - t0;
      row.dnsRcode = dns.rcode;
      row.allMs = all - t0;
    },
  );
  row.error = ran.error ?? leftoversError(ran.leftovers);
  progress(
    `${workers} worker(s), run ${run}: ` +
      (row.error
        ? `FAILED: ${row.error}`
        : `API ${fmtMs(row.apiMs)} ms, DNS ${fmtMs(row.dnsMs)} ms (rcode ${row.dnsRcode}), all workers ${fmtMs(row.allMs)} ms`),
  );
  return row;
}

function vm(pid: number): { rssKiB: number; hwmKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

interface Memory {
  pid?: number;
  startRssKiB: number;
  /** VmRSS after half of the changes (without the settling pause): growth that goes on, or a step? */
  midRssKiB: number;
  afterRssKiB: number;
  afterHwmKiB: number;
  changeMs: number[];
  workersKept?: boolean;
  samePid?: boolean;
  error?: string;
}

async function memory(): Promise<Memory> {
  const m: Memory = { startRssKiB: NaN, midRssKiB: NaN, afterRssKiB: NaN, afterHwmKiB: NaN, changeMs: [] };
  const ran = await withResolver(
    { workers: RSS_WORKERS, name: "startup" },
    { progress, label: "memory: " },
    async (r) => {
      m.pid = await r.managerPid();
      await sleep(SETTLE_MS);
      m.startRssKiB = vm(m.pid).rssKiB;
      progress(`manager pid ${m.pid}: VmRSS ${m.startRssKiB} kB after start-up; ${CHANGES} changes`);
      const workersBefore = await r.workerPids();
      for (let i = 0; i < CHANGES; i++) {
        const body = JSON.stringify(WORKER_STEPS[i % WORKER_STEPS.length]);
        const start = performance.now();
        const res = await r.api("PUT", "/v1/config/workers", body);
        m.changeMs.push(performance.now() - start);
        if (res.status !== 200)
          throw new Error(
            `change ${i + 1}: PUT /v1/config/workers answered ${res.status}: ${res.text.slice(0, 300)}`,
          );
        if (i + 1 === CHANGES / 2) m.midRssKiB = vm(m.pid).rssKiB;
      }
      const workersAfter = await r.workerPids();
      m.workersKept = workersAfter.join(",") === workersBefore.join(",");
      await sleep(SETTLE_MS);
      m.samePid = (await r.managerPid()) === m.pid;
      const after = vm(m.pid);
      m.afterRssKiB = after.rssKiB;
      m.afterHwmKiB = after.hwmKiB;
      progress(`after ${CHANGES} changes: VmRSS ${m.afterRssKiB} kB (peak ${m.afterHwmKiB} kB)`);
    },
  );
  m.error = ran.error ?? leftoversError(ran.leftovers);
  return m;
}

const mib = (kib: number): string => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "-");

export async function run(): Promise<BenchOutcome> {
  const runs: StartRun[] = [];
  for (const workers of WORKER_COUNTS) for (let i = 1; i <= RUNS; i++) runs.push(await startOnce(workers, i));
  const mem = await memory();

  console.log("start-up: from spawning bin/knot-resolver, ms");
  printTable([
    ["workers", "run", "API answers GET /", "DNS answers", "all workers running", "note"],
    ...runs.map((r) => [
      String(r.workers),
      String(r.run),
      fmtMs(r.apiMs),
      fmtMs(r.dnsMs),
      fmtMs(r.allMs),
      r.error
        ? `FAILED: ${r.error.split("\n")[0]!.slice(0, 100)}`
        : r.dnsRcode
          ? `DNS rcode ${r.dnsRcode}`
          : "",
    ]),
  ]);
  console.log("");
  const headlines: Headline[] = [];
  const medianRows: string[][] = [
    [
      "workers",
      `API answers, median of ${RUNS} ms`,
      "DNS answers, median ms",
      "all workers running, median ms",
    ],
  ];
  for (const workers of WORKER_COUNTS) {
    const good = runs.filter((r) => r.workers === workers && !r.error);
    const ok = good.length === RUNS;
    const med = (f: (r: StartRun) => number) => (ok ? fmtMs(median(good.map(f))) : "FAILED");
    medianRows.push([String(workers), med((r) => r.apiMs), med((r) => r.dnsMs), med((r) => r.allMs)]);
    headlines.push({
      figure: `startup: ${workers} worker(s), API / DNS answer, median ms`,
      value: `${med((r) => r.apiMs)} / ${med((r) => r.dnsMs)}`,
    });
  }
  printTable(medianRows);

  console.log("");
  console.log(
    `manager memory: ${RSS_WORKERS} workers; ${CHANGES} changes = PUT /v1/config/workers` +
      ` ${WORKER_STEPS.join(" / ")} (the extra worker started / retired, no worker restarted)`,
  );
  printTable([
    [
      "manager pid",
      "VmRSS after start MiB",
      `after ${CHANGES / 2} changes MiB`,
      `after ${CHANGES} changes MiB`,
      "growth MiB",
      "VmHWM MiB",
      "change median ms",
      "workers kept",
      "same manager",
    ],
    [
      String(mem.pid ?? "-"),
      mib(mem.startRssKiB),
      mib(mem.midRssKiB),
      mib(mem.afterRssKiB),
      mib(mem.afterRssKiB - mem.startRssKiB),
      mib(mem.afterHwmKiB),
      fmtMs(median(mem.changeMs)),
      mem.workersKept === undefined ? "-" : mem.workersKept ? "yes" : "NO",
      mem.samePid === undefined ? "-" : mem.samePid ? "yes" : "NO",
    ],
  ]);
  if (mem.error) console.log(`memory: the run failed: ${mem.error}`);
  headlines.push({
    figure: `manager VmRSS MiB: after start / after ${CHANGES} changes (workers ${WORKER_STEPS.join("↔")})`,
    value: mem.error ? "FAILED" : `${mib(mem.startRssKiB)} / ${mib(mem.afterRssKiB)}`,
  });
  return { ok: runs.every((r) => !r.error) && !mem.error, headlines };
}

if (isMain(import.meta.url)) await runStandalone(run);
