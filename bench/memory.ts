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
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { MANAGER_NODE_FLAGS } from "../lib/manager/startup.js";
import { REPO_ROOT } from "../harness/repo.js";
import { sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
  type FloorFigure,
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

/** VmRSS and VmHWM of a process, and VmRSS's parts (anonymous memory, mapped files), KiB. */
export function vmOf(pid: number): { rssKiB: number; hwmKiB: number; anonKiB: number; fileKiB: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const field = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status);
    if (!m) throw new Error(`/proc/${pid}/status has no ${name}`);
    return Number(m[1]);
  };
  return {
    rssKiB: field("VmRSS"),
    hwmKiB: field("VmHWM"),
    anonKiB: field("RssAnon"),
    fileKiB: field("RssFile"),
  };
}

/**
 * The floor: node itself with the manager's V8 flags, running nothing (an idle timer), as the
 * manager's VmRSS is measured (after SETTLE_MS).
 */
async function bareNode(): Promise<ReturnType<typeof vmOf>> {
  const child = spawn(process.execPath, [...MANAGER_NODE_FLAGS, "-e", "setInterval(() => {}, 1000)"], {
    stdio: "ignore",
    env: { ...process.env, NODE_EXTRA_CA_CERTS: "" },
  });
  try {
    await sleep(SETTLE_MS);
    return vmOf(child.pid as number);
  } finally {
    child.kill("SIGKILL");
  }
}

/**
 * What the supervised manager loads of the bundle (dist/bundle/meta.json, scripts/bundle.mjs):
 * bytes per npm package or lib/ folder, largest first. V8 keeps each script's source and compiles
 * what runs, so these sizes are where the code part of the heap comes from.
 */
function loadedModules(): { what: string; bytes: number }[] {
  const dir = path.join(REPO_ROOT, "dist/bundle");
  const meta = JSON.parse(fs.readFileSync(path.join(dir, "meta.json"), "utf8")) as {
    outputs: Record<
      string,
      { imports: { path: string; kind: string }[]; inputs: Record<string, { bytesInOutput: number }> }
    >;
  };
  const byFile = new Map(Object.entries(meta.outputs).map(([f, o]) => [path.basename(f), o]));
  const loaded = new Set<string>();
  const visit = (file: string) => {
    if (loaded.has(file) || !byFile.has(file)) return;
    loaded.add(file);
    for (const i of byFile.get(file)!.imports) {
      const name = path.basename(i.path);
      // the supervised manager and what it imports; of kresctl's and yargs' chunks nothing
      if (i.kind === "import-statement" || /^(supervised|rpc)-/.test(name)) visit(name);
    }
  };
  visit("manager.js");
  const sizes = new Map<string, number>();
  for (const file of loaded)
    for (const [input, { bytesInOutput }] of Object.entries(byFile.get(file)!.inputs)) {
      const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
      const what = m ? m[1]! : input.split("/").slice(0, 2).join("/");
      sizes.set(what, (sizes.get(what) ?? 0) + bytesInOutput);
    }
  return [...sizes].map(([what, bytes]) => ({ what, bytes })).sort((a, b) => b.bytes - a.bytes);
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
  /** VmRSS and its parts after the last request. */
  parts?: ReturnType<typeof vmOf>;
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
      const end = vmOf(pid);
      c.hwmKiB = end.hwmKiB;
      c.parts = end;
    },
  );
  c.error =
    ran.error ??
    (ran.leftovers.length ? `leftover processes after stop: ${ran.leftovers.join(", ")}` : undefined);
  return c;
}

export async function run(): Promise<BenchOutcome> {
  const bare = await bareNode();
  progress(`bare node with the manager's flags: VmRSS ${mib(bare.rssKiB)} MiB`);
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

  console.log(
    "\nwhere the manager's VmRSS goes (after the requests) against a bare node with the same flags",
  );
  const end = c.parts;
  printTable([
    ["process", "VmRSS MiB", "anonymous (heaps, stacks) MiB", "mapped files (node's binary…) MiB"],
    ["bare node, same V8 flags", mib(bare.rssKiB), mib(bare.anonKiB), mib(bare.fileKiB)],
    ["the manager", mib(end?.rssKiB ?? NaN), mib(end?.anonKiB ?? NaN), mib(end?.fileKiB ?? NaN)],
  ]);
  try {
    const modules = loadedModules();
    const total = modules.reduce((a, m) => a + m.bytes, 0);
    console.log(
      `\nthe bundled code the supervised manager loads: ${(total / 1024).toFixed(0)} KiB; the largest parts`,
    );
    printTable([
      ["package or folder", "KiB"],
      ...modules.slice(0, 12).map((m) => [m.what, (m.bytes / 1024).toFixed(0)]),
    ]);
  } catch (e) {
    console.log(`(no bundle metafile: ${(e as Error).message})`);
  }
  const figures: FloorFigure[] = [
    {
      figure: "manager VmRSS after start-up",
      value: first / 1024,
      unit: "MiB",
      floor: bare.rssKiB / 1024,
      floorWhat: "bare node, same flags",
      target: `≤ ${TARGET_MIB} MiB`,
      met: Number.isFinite(first) ? first / 1024 <= TARGET_MIB : undefined,
    },
    {
      figure: `manager VmRSS after ${REQUESTS} API requests (largest sample)`,
      value: complete ? Math.max(...c.samples.map((s) => s.rssKiB)) / 1024 : NaN,
      unit: "MiB",
      floor: bare.rssKiB / 1024,
      floorWhat: "bare node, same flags",
      target: `≤ ${TARGET_MIB} MiB throughout`,
      met: complete ? Math.max(...c.samples.map((s) => s.rssKiB)) / 1024 <= TARGET_MIB : undefined,
    },
  ];
  return {
    figures,
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
