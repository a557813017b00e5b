/**
 * The manager's memory over many API requests: VmRSS of the manager process (the PID GET /
 * reports, /proc/<pid>/status) after start-up and every SAMPLE_EVERY requests up to REQUESTS, as a
 * curve. Prints tables; not a test.
 * Run: npm run build && node dist/bench/memory.js
 *
 * The requests, one at a time, cycle through what an operator or a monitoring system asks: GET /,
 * the config and one key of it, the process list, the Prometheus metrics of every worker, the JSON
 * Schema, a PUT that changes nothing (the whole pipeline up to the unchanged ETag); and every
 * CHANGE_EVERY-th request is a real change, PUT /v1/config/workers alternating 3 / 2, which starts
 * or retires the third worker (the Lua stays the same: workers 0 and 1 keep running, which is
 * checked). The target (issue 17): at most 64 MiB after start-up and after 10 000 requests, no
 * growth in between.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { sleep } from "../harness/procs.js";
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

const WORKERS = 2;
const REQUESTS = 10_000;
const SAMPLE_EVERY = 1000;
const CHANGE_EVERY = 100;
/** The worker counts the real changes alternate between; REQUESTS / CHANGE_EVERY is even, so the last is WORKERS. */
const WORKER_STEPS = [WORKERS + 1, WORKERS];
/** Let the manager settle (timers, GC) before the first and the last reading. */
const SETTLE_MS = 2000;
const TARGET_MIB = 64;

const progress = progressOf("memory");

type Request = { what: string; method: string; path: string; body?: unknown };

/** The cycle of ordinary requests (every answer must be 200). */
const CYCLE: Request[] = [
  { what: "GET /", method: "GET", path: "/" },
  { what: "GET /v1/config", method: "GET", path: "/v1/config" },
  { what: "GET /v1/config/workers", method: "GET", path: "/v1/config/workers" },
  { what: "GET /processes", method: "GET", path: "/processes" },
  { what: "GET /metrics/prometheus", method: "GET", path: "/metrics/prometheus" },
  { what: "GET /schema", method: "GET", path: "/schema" },
  {
    what: "PUT /v1/config/logging/level (same value)",
    method: "PUT",
    path: "/v1/config/logging/level",
    body: '"info"',
  },
];

/** VmRSS and VmHWM of a process, KiB. */
export function vmOf(pid: number): { rssKiB: number; hwmKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM") };
}

export const mib = (kib: number): string => (Number.isFinite(kib) ? (kib / 1024).toFixed(1) : "-");

interface Sample {
  requests: number;
  rssKiB: number;
  /** Median time of the requests since the previous sample, ms. */
  medianMs: number;
}

interface Curve {
  pid?: number;
  samples: Sample[];
  hwmKiB: number;
  changes: number;
  workersKept?: boolean;
  samePid?: boolean;
  error?: string;
}

async function send(r: BenchResolver, req: Request, n: number): Promise<void> {
  const res = await r.api(req.method, req.path, req.body, 30_000);
  if (res.status !== 200)
    throw new Error(`request ${n} (${req.what}) answered ${res.status}: ${res.text.slice(0, 300)}`);
}

async function curve(): Promise<Curve> {
  const c: Curve = { samples: [], hwmKiB: NaN, changes: 0 };
  const ran = await withResolver(
    { workers: WORKERS, name: "memory" },
    { progress, label: "memory: " },
    async (r) => {
      const pid = await r.managerPid();
      c.pid = pid;
      await sleep(SETTLE_MS);
      c.samples.push({ requests: 0, rssKiB: vmOf(pid).rssKiB, medianMs: NaN });
      progress(
        `manager pid ${pid}: VmRSS ${mib(c.samples[0]!.rssKiB)} MiB after start-up; ${REQUESTS} requests`,
      );
      const workersBefore = await r.workerPids();
      let times: number[] = [];
      for (let n = 1; n <= REQUESTS; n++) {
        const req: Request =
          n % CHANGE_EVERY === 0
            ? {
                what: "PUT /v1/config/workers",
                method: "PUT",
                path: "/v1/config/workers",
                body: JSON.stringify(WORKER_STEPS[c.changes % WORKER_STEPS.length]),
              }
            : CYCLE[n % CYCLE.length]!;
        const start = performance.now();
        await send(r, req, n);
        times.push(performance.now() - start);
        if (n % CHANGE_EVERY === 0) c.changes++;
        if (n % SAMPLE_EVERY === 0) {
          if (n === REQUESTS) await sleep(SETTLE_MS);
          c.samples.push({ requests: n, rssKiB: vmOf(pid).rssKiB, medianMs: median(times) });
          progress(`${n} requests: VmRSS ${mib(c.samples.at(-1)!.rssKiB)} MiB`);
          times = [];
        }
      }
      c.workersKept = (await r.workerPids()).join(",") === workersBefore.join(",");
      c.samePid = (await r.managerPid()) === pid;
      c.hwmKiB = vmOf(pid).hwmKiB;
    },
  );
  c.error =
    ran.error ??
    (ran.leftovers.length ? `leftover processes after stop: ${ran.leftovers.join(", ")}` : undefined);
  return c;
}

export async function run(): Promise<BenchOutcome> {
  const c = await curve();
  console.log(
    `manager VmRSS over ${REQUESTS} API requests, one at a time (${WORKERS} workers; every ${CHANGE_EVERY}th request` +
      ` a change of workers ${WORKER_STEPS.join(" / ")}; the others: ${CYCLE.map((q) => q.what).join(", ")})`,
  );
  const first = c.samples[0]?.rssKiB ?? NaN;
  printTable([
    ["requests", "VmRSS MiB", "vs after start-up MiB", `median ms of the last ${SAMPLE_EVERY}`],
    ...c.samples.map((s) => [
      String(s.requests),
      mib(s.rssKiB),
      s.requests === 0 ? "" : (s.rssKiB >= first ? "+" : "") + mib(s.rssKiB - first),
      fmtMs(s.medianMs, 2),
    ]),
  ]);
  const last = c.samples.at(-1)?.rssKiB ?? NaN;
  const complete = c.samples.length === REQUESTS / SAMPLE_EVERY + 1;
  console.log("");
  printTable([
    ["figure", "value", "target"],
    ["VmRSS after start-up MiB", mib(first), `≤ ${TARGET_MIB}`],
    [`VmRSS after ${REQUESTS} requests MiB`, complete ? mib(last) : "FAILED", `≤ ${TARGET_MIB}`],
    ["largest VmRSS of the samples MiB", mib(Math.max(...c.samples.map((s) => s.rssKiB))), `≤ ${TARGET_MIB}`],
    ["VmHWM (peak) MiB", mib(c.hwmKiB), ""],
    [
      "workers 0 and 1 kept / same manager",
      `${c.workersKept ? "yes" : "NO"} / ${c.samePid ? "yes" : "NO"}`,
      "yes / yes",
    ],
  ]);
  if (c.error) console.log(`memory: the run failed: ${c.error}`);
  return {
    ok: !c.error && complete,
    headlines: [
      {
        figure: `manager VmRSS MiB: after start-up / after ${REQUESTS} requests (target ≤ ${TARGET_MIB})`,
        value: c.error || !complete ? "FAILED" : `${mib(first)} / ${mib(last)}`,
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
