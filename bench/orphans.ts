/**
 * Queries lost when knot-resolver starts again on the orphans of a supervisord killed with -9
 * (issue 24), in the two orders start-up could take. Prints tables; not a test.
 * Run: npm run build && node dist/bench/orphans.js
 *
 * Each round: a resolver of 2 workers answering local data under dnsperf at 1000 q/s; at 2 s its
 * supervisord gets SIGKILL (the workers, left running, keep answering; the manager leaves by
 * itself); at 3 s `knot-resolver -c` again on the same config. Counted: dnsperf's lost queries
 * over the whole run (the gap), and how long until the new resolver's API and workers are up.
 *
 * - workers last (what start-up does, lib/manager/orphans.ts): the orphaned workers are stopped by
 *   the new manager just before it starts its own;
 * - workers first: the orphaned workers are stopped the moment the launcher becomes supervisord
 *   (its PID's command line turns into supervisord's), which is where start-up would stop them in
 *   that order; the bench does it from outside, with the same find and stop as start-up.
 */
import * as fs from "node:fs";
import { performance } from "node:perf_hooks";
import { findOrphans, stopOrphans } from "../lib/controller/supervisord/orphans.js";
import type { DnsperfResult } from "../harness/dnsperf.js";
import { loadResolver, withLoad } from "../harness/load.js";
import { signalPid, sleep, waitFor } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  maxOf,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKERS = 2;
const QPS = 1000;
const LOAD_S = 20;
/** dnsperf counts a query lost after 1 s; up to QPS × 4 s outstanding, so an outage is fully counted. */
const LOAD = { qps: QPS, seconds: LOAD_S, timeoutSeconds: 1, maxOutstanding: QPS * 4 };
const KILL_AT_S = 2;
const RESTART_AT_S = 3;
const ROUNDS = 3;
const READY_TIMEOUT_MS = 60_000;

type Order = "workers last" | "workers first";
const ORDERS: Order[] = ["workers last", "workers first"];

const progress = progressOf("orphans");

interface Round {
  order: Order;
  n: number;
  load?: DnsperfResult;
  /** From the new launcher's spawn until its API answers with every worker running. */
  readyMs: number;
  /** When that was, in seconds from the start of the load (the gap is counted only within it). */
  readyAtS: number;
  /** Orphaned workers the bench itself stopped (workers first). */
  stoppedByBench: number;
  error?: string;
}

/** Waits until `pid`'s command line is supervisord's (the launcher has exec'ed). */
async function becameSupervisord(pid: number): Promise<void> {
  await waitFor(
    "the launcher exec'ing supervisord",
    () => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("supervisord") ? true : undefined;
      } catch {
        throw new Error(`the launcher (pid ${pid}) exited`);
      }
    },
    { timeoutMs: 30_000, intervalMs: 2 },
  );
}

async function round(order: Order, n: number): Promise<Round> {
  const result: Round = { order, n, readyMs: NaN, readyAtS: NaN, stoppedByBench: 0 };
  let next: BenchResolver | undefined;
  const ran = await withResolver(loadResolver(WORKERS, "orphans"), { progress, quiet: true }, async (r) => {
    try {
      const { load } = await withLoad(r, LOAD, async (loadStart) => {
        await sleep(Math.max(0, loadStart + KILL_AT_S * 1000 - performance.now()));
        signalPid(r.pid, "SIGKILL");
        await waitFor("supervisord dead of SIGKILL", () => (r.running ? undefined : true), {
          timeoutMs: 5000,
        });
        await sleep(Math.max(0, loadStart + RESTART_AT_S * 1000 - performance.now()));
        next = r.again();
        if (order === "workers first") {
          await becameSupervisord(next.pid);
          const orphans = findOrphans(r.rundir).filter((o) => o.kind === "kresd");
          await stopOrphans(orphans);
          result.stoppedByBench = orphans.length;
        }
        await next.waitReady(WORKERS, READY_TIMEOUT_MS);
        result.readyMs = performance.now() - next.spawnedAt;
        result.readyAtS = (performance.now() - loadStart) / 1000;
        if (result.readyAtS > LOAD_S - 1)
          throw new Error(`ready only at ${result.readyAtS.toFixed(1)} s: gap not within the load`);
      });
      result.load = load;
    } finally {
      if (next) await next.stop();
    }
  });
  result.error = ran.error;
  const lost = result.load ? `${result.load.lost} lost of ${result.load.sent}` : "no load figures";
  progress(`${order}, round ${n}: ${result.error ? `FAILED: ${result.error}` : lost}`);
  return result;
}

export async function run(): Promise<BenchOutcome> {
  const rounds: Round[] = [];
  for (let n = 1; n <= ROUNDS; n++) for (const order of ORDERS) rounds.push(await round(order, n));

  console.log(
    `orphans: kill -9 of supervisord at ${KILL_AT_S} s, knot-resolver -c again at ${RESTART_AT_S} s, ${WORKERS} workers, ${QPS} q/s for ${LOAD_S} s`,
  );
  printTable([
    ["order", "round", "lost / sent", "new resolver ready ms", "ready at s", "note"],
    ...rounds.map((x) => [
      x.order,
      String(x.n),
      x.load ? `${x.load.lost} / ${x.load.sent}` : "-",
      fmtMs(x.readyMs, 0),
      x.readyAtS.toFixed(1),
      x.error
        ? x.error.slice(0, 100)
        : x.order === "workers first"
          ? `${x.stoppedByBench} stopped by the bench`
          : "",
    ]),
  ]);
  console.log("");
  const summary = ORDERS.map((order) => {
    const done = rounds.filter((x) => x.order === order && x.load && !x.error);
    const lost = done.map((x) => x.load!.lost);
    return { order, done, lost, ready: done.map((x) => x.readyMs) };
  });
  printTable([
    ["order", "rounds", "lost median", "lost max", "ready median ms"],
    ...summary.map((s) => [
      s.order,
      `${s.done.length}/${ROUNDS}`,
      fmtMs(median(s.lost), 0),
      fmtMs(maxOf(s.lost), 0),
      fmtMs(median(s.ready), 0),
    ]),
  ]);
  return {
    ok: rounds.every((x) => !x.error && x.load),
    headlines: summary.map((s) => ({
      figure: `orphans: lost at ${QPS} q/s, ${s.order} (median, max)`,
      value: s.lost.length ? `${fmtMs(median(s.lost), 0)}, ${fmtMs(maxOf(s.lost), 0)}` : "FAILED",
    })),
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
