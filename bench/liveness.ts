/**
 * How long a worker takes to answer the manager's liveness check (issue 26), so that its bound is
 * chosen from figures and not guessed: the check's command (`worker.pid` on a kept-open control
 * connection, as the manager asks it) sent to every worker every PING_EVERY_MS, its round trip
 * timed, while the workers are
 *   idle;
 *   under dnsperf at LOAD_QPS (2 workers on 2 cores: both busy);
 *   clearing a big cached subtree (BIG_NAMES names fetched from a local knotd first) with
 *   POST /cache/clear, in chunks of 100 (the default) and of CHUNK_SIZE_MAX (the most a request
 *   may ask for: one round holds the worker that long), the last one under load too.
 * Prints p50/p99/max per phase, and whether the manager's own check replaced a worker meanwhile
 * (it must not); then how long a worker frozen by SIGSTOP takes to be replaced. Not a test. Run: npm run build && node dist/bench/liveness.js
 */
import { performance } from "node:perf_hooks";
import { CHUNK_SIZE_MAX } from "../lib/datamodel/cache-clear/schema.js";
import { bigZone } from "../harness/big-zone.js";
import { LIVENESS_COMMAND } from "../lib/manager/liveness.js";
import { ControlConnection, controlSocketPath } from "../harness/control.js";
import { startDnsperf, type DnsperfResult } from "../harness/dnsperf.js";
import { startKnotd, type Knotd } from "../harness/knotd.js";
import { LOAD_LOCAL_DATA, LOAD_NAMES } from "../harness/load.js";
import { signalPid, sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  maxOf,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKERS = 2;
const LOAD_QPS = 8000;
const PHASE_S = 8;
const PING_EVERY_MS = 20;
/** A ping that takes longer than this is counted as failed (far above any bound we would pick). */
const PING_TIMEOUT_MS = 15_000;
const BIG_ZONE = "big.test";
const BIG_NAMES = 20_000;
const FROZEN_QPS = 1000;
const FROZEN_LOAD_S = 15;

const progress = progressOf("liveness");

/** Pings every given worker in a loop over one kept connection each, recording round trips. */
class Pinger {
  readonly ms: number[] = [];
  readonly failures: string[] = [];
  private stopped = false;
  private readonly loops: Promise<void>[];

  constructor(rundir: string, pids: readonly number[]) {
    this.loops = pids.map((pid) => this.loop(controlSocketPath(rundir, pid), pid));
  }

  private async loop(socket: string, pid: number): Promise<void> {
    let c = new ControlConnection(socket);
    while (!this.stopped) {
      const start = performance.now();
      try {
        const answer = await c.ask(LIVENESS_COMMAND, PING_TIMEOUT_MS);
        if (answer !== String(pid)) throw new Error(`pid ${pid} answered ${answer}`);
        this.ms.push(performance.now() - start);
      } catch (e) {
        this.failures.push((e as Error).message);
        c.destroy();
        c = new ControlConnection(socket);
      }
      await sleep(Math.max(0, PING_EVERY_MS - (performance.now() - start)));
    }
    c.destroy();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.loops);
  }
}

function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

interface Phase {
  name: string;
  ms: number[];
  failures: string[];
  note: string;
}

async function measured(r: BenchResolver, name: string, body: () => Promise<string>): Promise<Phase> {
  const pinger = new Pinger(r.rundir, await r.workerPids());
  let note: string;
  try {
    note = await body();
  } finally {
    await pinger.stop();
  }
  const phase = { name, ms: pinger.ms, failures: pinger.failures, note };
  progress(
    `${name}: ${phase.ms.length} pings, p99 ${fmtMs(percentile(phase.ms, 99), 2)} ms, max ${fmtMs(maxOf(phase.ms), 2)} ms; ${note}`,
  );
  return phase;
}

const lost = (d: DnsperfResult): string => `${d.lost} lost of ${d.sent}`;

/** Asks the resolver for every name of the big zone, so that they are cached. */
async function fill(r: BenchResolver, names: readonly string[]): Promise<void> {
  const d = await startDnsperf({ port: r.port, names, qps: LOAD_QPS, seconds: 60, passes: 1 }).done;
  if (d.completed < names.length) throw new Error(`filling the cache: ${lost(d)}`);
}

/**
 * POST /cache/clear of the big zone in chunks of `chunk` (the worker goes on by itself after the
 * first round), or of the whole cache without one.
 */
async function clearBig(r: BenchResolver, chunk?: number): Promise<string> {
  const body = chunk === undefined ? {} : { name: BIG_ZONE, "chunk-size": chunk };
  const start = performance.now();
  const res = await r.api("POST", "/cache/clear", body, 30_000);
  const ms = performance.now() - start;
  if (res.status !== 200) throw new Error(`POST /cache/clear answered ${res.status}: ${res.text}`);
  const { count } = res.json as { count?: number };
  return `POST /cache/clear ${fmtMs(ms)} ms, ${count} records${chunk ? " in round 1" : ""}`;
}

interface Frozen {
  unresponsiveMs: number;
  replacedMs: number;
  load: string;
}

/**
 * SIGSTOP to one worker from outside, as an operator would, under a light load: how long until
 * GET /processes calls it unresponsive, and until a new worker runs in its place.
 */
async function freeze(r: BenchResolver): Promise<Frozen> {
  const load = startDnsperf({ port: r.port, names: LOAD_NAMES, qps: FROZEN_QPS, seconds: FROZEN_LOAD_S });
  try {
    await sleep(1000);
    const victim = (await r.workerPids())[0]!;
    const stopped = performance.now();
    if (!signalPid(victim, "SIGSTOP")) throw new Error(`pid ${victim} is gone`);
    let unresponsiveMs = NaN;
    for (;;) {
      const now = performance.now() - stopped;
      if (now > 30_000) throw new Error(`pid ${victim} not replaced within 30 s`);
      const res = await r.api("GET", "/processes/kresd");
      const rows = res.json as { pid: number; status: string }[];
      if (Number.isNaN(unresponsiveMs) && rows.some((w) => w.pid === victim && w.status === "unresponsive"))
        unresponsiveMs = now;
      const running = rows.filter((w) => w.status === "running");
      if (running.length === WORKERS && !rows.some((w) => w.pid === victim))
        return { unresponsiveMs, replacedMs: now, load: lost(await load.done) };
      await sleep(50);
    }
  } finally {
    load.kill();
  }
}

export async function run(): Promise<BenchOutcome> {
  const { names, text: zone } = bigZone(BIG_ZONE, BIG_NAMES);
  let knotd: Knotd | undefined;
  const phases: Phase[] = [];
  let pidsBefore: number[] = [];
  let pidsAfter: number[] = [];
  let unresponsiveLines: string[] = [];
  let frozen: Frozen | undefined;
  try {
    knotd = await startKnotd({ zones: { [BIG_ZONE]: zone } });
    const k = knotd;
    const ran = await withResolver(
      {
        workers: WORKERS,
        name: "liveness",
        config: {
          "local-data": LOAD_LOCAL_DATA,
          forward: [{ subtree: BIG_ZONE, servers: [`127.0.0.1@${k.port}`], options: { dnssec: false } }],
        },
      },
      { progress },
      async (r) => {
        pidsBefore = await r.workerPids();
        phases.push(
          await measured(r, "idle", async () => {
            await sleep(PHASE_S * 1000);
            return "";
          }),
        );
        phases.push(
          await measured(r, `dnsperf ${LOAD_QPS} q/s`, async () => {
            const d = await startDnsperf({ port: r.port, names: LOAD_NAMES, qps: LOAD_QPS, seconds: PHASE_S })
              .done;
            return lost(d);
          }),
        );
        for (const chunk of [100, CHUNK_SIZE_MAX]) {
          await fill(r, names);
          phases.push(
            await measured(r, `clear ${BIG_NAMES} names, chunks of ${chunk}`, async () => {
              const note = await clearBig(r, chunk);
              await sleep(PHASE_S * 1000);
              return note;
            }),
          );
        }
        await fill(r, names);
        phases.push(
          await measured(r, "clear the whole cache", async () => {
            const note = await clearBig(r);
            await sleep(PHASE_S * 1000);
            return note;
          }),
        );
        await fill(r, names);
        phases.push(
          await measured(r, `clear, chunks of ${CHUNK_SIZE_MAX}, + ${LOAD_QPS} q/s`, async () => {
            const load = startDnsperf({ port: r.port, names: LOAD_NAMES, qps: LOAD_QPS, seconds: PHASE_S });
            await sleep(1000);
            const note = await clearBig(r, CHUNK_SIZE_MAX);
            return `${note}; ${lost(await load.done)}`;
          }),
        );
        pidsAfter = await r.workerPids();
        // Any missed check so far is one a busy worker should not have missed.
        unresponsiveLines = r.log.split("\n").filter((l) => /liveness|unresponsive/.test(l));
        frozen = await freeze(r);
      },
    );
    if (ran.error) return report(phases, frozen, pidsBefore, pidsAfter, unresponsiveLines, ran.error);
  } catch (e) {
    return report(phases, frozen, pidsBefore, pidsAfter, unresponsiveLines, (e as Error).message);
  } finally {
    await knotd?.stop();
  }
  return report(phases, frozen, pidsBefore, pidsAfter, unresponsiveLines);
}

function report(
  phases: readonly Phase[],
  frozen: Frozen | undefined,
  before: readonly number[],
  after: readonly number[],
  unresponsive: readonly string[],
  error?: string,
): BenchOutcome {
  console.log(
    `liveness: round trip of \`${LIVENESS_COMMAND}\` to each of ${WORKERS} workers every ${PING_EVERY_MS} ms`,
  );
  printTable([
    ["phase", "pings", "p50 ms", "p99 ms", "max ms", "failed", "note"],
    ...phases.map((p) => [
      p.name,
      String(p.ms.length),
      fmtMs(percentile(p.ms, 50), 2),
      fmtMs(percentile(p.ms, 99), 2),
      fmtMs(maxOf(p.ms), 2),
      String(p.failures.length),
      p.note,
    ]),
  ]);
  for (const p of phases) for (const f of p.failures.slice(0, 3)) console.log(`  ${p.name}: ${f}`);
  const kept = before.length === WORKERS && before.join(",") === after.join(",");
  console.log(
    `  worker PIDs ${before.join(",")} → ${after.join(",") || "-"}: ${kept ? "none replaced" : "REPLACED"}; ` +
      `missed checks logged meanwhile: ${unresponsive.length}`,
  );
  for (const l of unresponsive.slice(0, 5)) console.log(`  log: ${l}`);
  console.log("");
  console.log(`a worker frozen by SIGSTOP from outside, ${FROZEN_QPS} q/s (ms after the SIGSTOP)`);
  printTable([
    ["GET /processes says unresponsive", "replaced (new PID running)", "lost / sent"],
    frozen ? [fmtMs(frozen.unresponsiveMs, 0), fmtMs(frozen.replacedMs, 0), frozen.load] : ["-", "-", "-"],
  ]);
  if (error) console.log(`liveness: the run failed: ${error}`);
  const worst = maxOf(phases.flatMap((p) => p.ms));
  return {
    ok: !error && !!frozen && phases.every((p) => p.failures.length === 0),
    headlines: [
      { figure: "liveness: slowest check answer, ms (all phases)", value: fmtMs(worst, 1) },
      { figure: "liveness: workers replaced while busy", value: kept ? "none" : "SOME" },
      { figure: "liveness: frozen worker replaced after, ms", value: fmtMs(frozen?.replacedMs ?? NaN, 0) },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
