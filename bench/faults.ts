/**
 * Faults under load (issue 6, item 3), with the same steady UDP load as bench/zero-loss (dnsperf,
 * 2000 queries/s, local-data names, 4 workers on loopback). Prints tables; not a test.
 * Run: npm run build && node dist/bench/faults.js
 *
 * (a) Every 2 s for 60 s a random running worker (a PID from GET /processes/kresd) gets SIGKILL.
 *     After each kill GET /processes/kresd is polled until 4 workers run again, the victim not
 *     among them (the restore time). Meanwhile GET / is asked every 100 ms: it must keep answering
 *     with the same manager PID.
 * (b) The manager itself (the PID GET / reports) gets SIGKILL a few times: supervisord restarts it
 *     and it adopts the running workers. Measured: how long until GET / answers again (from a new
 *     PID), whether the worker PIDs stayed the same, and the queries lost over the whole run.
 *
 * A fresh resolver for each part.
 */
import { performance } from "node:perf_hooks";
import type { DnsperfResult } from "../harness/dnsperf.js";
import { loadResolver, withLoad } from "../harness/load.js";
import { signalPid, sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  maxOf,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
  type Headline,
} from "../harness/report.js";
import { withResolver, type BenchResolver } from "../harness/resolver.js";

const WORKERS = 4;
const QPS = 2000;
/** (a): a kill every KILL_EVERY_S for KILLS_FOR_S, the load running KILL_LOAD_S in all. */
const KILL_EVERY_S = 2;
const KILLS_FOR_S = 60;
const KILL_LOAD_S = 65;
/** How long a restore may take before that kill counts as not restored. */
const RESTORE_TIMEOUT_MS = 10_000;
/** (b): manager kills at these seconds into a load of MANAGER_LOAD_S. */
const MANAGER_KILLS_AT_S = [3, 12, 21, 30];
const MANAGER_LOAD_S = 38;
const API_BACK_TIMEOUT_MS = 30_000;

const progress = progressOf("faults");

/** GET / every `everyMs` until stopped: how often it answered, how slowly, with which manager PIDs. */
class IndexMonitor {
  asked = 0;
  answered = 0;
  failures: string[] = [];
  slowestMs = 0;
  readonly pids = new Set<number>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly resolver: BenchResolver,
    everyMs: number,
  ) {
    this.loop = (async () => {
      while (!this.stopped) {
        const start = performance.now();
        this.asked++;
        try {
          const pid = await this.resolver.managerPid(2000);
          this.answered++;
          this.pids.add(pid);
        } catch (e) {
          if (this.failures.length < 20) this.failures.push((e as Error).message);
        }
        const ms = performance.now() - start;
        this.slowestMs = Math.max(this.slowestMs, ms);
        await sleep(Math.max(0, everyMs - ms));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

interface WorkerKill {
  n: number;
  atS: number;
  victim: number;
  restoreMs: number;
  error?: string;
}

interface PartA {
  kills: WorkerKill[];
  load?: DnsperfResult;
  managerPids: number[];
  indexAsked: number;
  indexAnswered: number;
  indexSlowestMs: number;
  indexFailures: string[];
  resolverAlive: boolean;
  watchdogLines: string[];
  /** Log lines: workers the manager's watchdog restarted; restarts by supervisord it noticed. */
  watchdogRestarts: number;
  supervisordRestarts: number;
  error?: string;
  leftovers: number[];
}

/** Polls GET /processes/kresd until `want` workers run and `victim` is not one of them; ms since `since`. */
async function restored(
  resolver: BenchResolver,
  victim: number,
  want: number,
  since: number,
): Promise<number> {
  let last = "";
  while (performance.now() - since < RESTORE_TIMEOUT_MS) {
    try {
      const pids = await resolver.workerPids();
      if (pids.length === want && !pids.includes(victim)) return performance.now() - since;
      last = `${pids.length} running`;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(20);
  }
  throw new Error(`not restored within ${RESTORE_TIMEOUT_MS} ms (${last})`);
}

async function workerKills(): Promise<PartA> {
  const part: PartA = {
    kills: [],
    managerPids: [],
    indexAsked: 0,
    indexAnswered: 0,
    indexSlowestMs: 0,
    indexFailures: [],
    resolverAlive: false,
    watchdogLines: [],
    watchdogRestarts: 0,
    supervisordRestarts: 0,
    leftovers: [],
  };
  const ran = await withResolver(
    loadResolver(WORKERS, "faults"),
    {
      progress,
      label: "(a) ",
      beforeStop: (resolver) => {
        part.resolverAlive = resolver.running;
        const log = resolver.log.split("\n");
        part.watchdogLines = log.filter((l) => /giving up|FATAL|gave up|shut/i.test(l));
        part.watchdogRestarts = log.filter((l) => /watchdog: restarted kresd/.test(l)).length;
        part.supervisordRestarts = log.filter((l) => /watchdog: kresd.* and restarted \(pid/.test(l)).length;
      },
    },
    async (r) => {
      const managerPid = await r.managerPid();
      progress(
        `(a) resolver ready (port ${r.port}, manager pid ${managerPid}); a worker killed every ${KILL_EVERY_S} s for ${KILLS_FOR_S} s`,
      );
      const monitor = new IndexMonitor(r, 100);
      try {
        const { load } = await withLoad(r, { qps: QPS, seconds: KILL_LOAD_S }, async (loadStart) => {
          for (let n = 1; n * KILL_EVERY_S <= KILLS_FOR_S; n++) {
            await sleep(Math.max(0, loadStart + n * KILL_EVERY_S * 1000 - performance.now()));
            if (!r.running) throw new Error("knot-resolver (supervisord) exited");
            const atS = (performance.now() - loadStart) / 1000;
            const kill: WorkerKill = { n, atS, victim: 0, restoreMs: NaN };
            part.kills.push(kill);
            try {
              const pids = await r.workerPids();
              if (pids.length === 0) throw new Error("no running worker to kill");
              kill.victim = pids[Math.floor(Math.random() * pids.length)]!;
              const killedAt = performance.now();
              if (!signalPid(kill.victim, "SIGKILL")) throw new Error(`pid ${kill.victim} already gone`);
              kill.restoreMs = await restored(r, kill.victim, WORKERS, killedAt);
              progress(
                `(a) kill ${n} at ${atS.toFixed(1)} s: pid ${kill.victim}, restored in ${fmtMs(kill.restoreMs)} ms`,
              );
            } catch (e) {
              kill.error = (e as Error).message;
              progress(`(a) kill ${n} at ${atS.toFixed(1)} s: pid ${kill.victim}: ${kill.error}`);
            }
          }
        });
        part.load = load;
      } finally {
        await monitor.stop();
        part.managerPids = [...monitor.pids];
        part.indexAsked = monitor.asked;
        part.indexAnswered = monitor.answered;
        part.indexSlowestMs = monitor.slowestMs;
        part.indexFailures = monitor.failures;
      }
    },
  );
  part.error = ran.error;
  part.leftovers = ran.leftovers;
  return part;
}

interface ManagerKill {
  n: number;
  atS: number;
  oldPid: number;
  newPid?: number;
  apiBackMs: number;
  workersKept?: boolean;
  error?: string;
}

interface PartB {
  kills: ManagerKill[];
  load?: DnsperfResult;
  resolverAlive: boolean;
  error?: string;
  leftovers: number[];
}

async function managerKills(): Promise<PartB> {
  const part: PartB = { kills: [], resolverAlive: false, leftovers: [] };
  const ran = await withResolver(
    loadResolver(WORKERS, "faults"),
    { progress, label: "(b) ", beforeStop: (resolver) => (part.resolverAlive = resolver.running) },
    async (r) => {
      progress(
        `(b) resolver ready (port ${r.port}); the manager killed at ${MANAGER_KILLS_AT_S.join(", ")} s`,
      );
      const { load } = await withLoad(r, { qps: QPS, seconds: MANAGER_LOAD_S }, async (loadStart) => {
        for (const [i, dueS] of MANAGER_KILLS_AT_S.entries()) {
          await sleep(Math.max(0, loadStart + dueS * 1000 - performance.now()));
          if (!r.running) throw new Error("knot-resolver (supervisord) exited");
          const kill: ManagerKill = {
            n: i + 1,
            atS: (performance.now() - loadStart) / 1000,
            oldPid: 0,
            apiBackMs: NaN,
          };
          part.kills.push(kill);
          try {
            kill.oldPid = await r.managerPid();
            const workersBefore = await r.workerPids();
            const killedAt = performance.now();
            if (!signalPid(kill.oldPid, "SIGKILL")) throw new Error(`pid ${kill.oldPid} already gone`);
            let last = "";
            while (kill.newPid === undefined) {
              if (performance.now() - killedAt > API_BACK_TIMEOUT_MS)
                throw new Error(`the API did not answer again within ${API_BACK_TIMEOUT_MS} ms (${last})`);
              try {
                const pid = await r.managerPid(1000);
                if (pid !== kill.oldPid) {
                  kill.newPid = pid;
                  kill.apiBackMs = performance.now() - killedAt;
                } else last = "the killed manager still answered";
              } catch (e) {
                last = (e as Error).message;
                await sleep(10);
              }
            }
            const workersAfter = await r.workerPids();
            kill.workersKept = workersAfter.join(",") === workersBefore.join(",");
            progress(
              `(b) kill ${kill.n} at ${kill.atS.toFixed(1)} s: manager ${kill.oldPid} → ${kill.newPid}, ` +
                `API back in ${fmtMs(kill.apiBackMs)} ms, workers ${kill.workersKept ? "adopted" : `CHANGED (${workersBefore.join(",")} → ${workersAfter.join(",")})`}`,
            );
          } catch (e) {
            kill.error = (e as Error).message;
            progress(`(b) kill ${kill.n}: ${kill.error}`);
          }
        }
      });
      part.load = load;
    },
  );
  part.error = ran.error;
  part.leftovers = ran.leftovers;
  return part;
}

const lostOf = (load: DnsperfResult | undefined): string =>
  load ? `${load.lost} / ${load.sent} (completed ${load.completed})` : "-";

export async function run(): Promise<BenchOutcome> {
  const a = await workerKills();
  const b = await managerKills();

  console.log(
    `faults (a): SIGKILL of a random worker every ${KILL_EVERY_S} s for ${KILLS_FOR_S} s, ${WORKERS} workers, ${QPS} q/s`,
  );
  printTable([
    ["kill", "at s", "victim pid", "restored in ms", "note"],
    ...a.kills.map((k) => [
      String(k.n),
      k.atS.toFixed(1),
      String(k.victim || "-"),
      fmtMs(k.restoreMs),
      k.error ? k.error.slice(0, 100) : "",
    ]),
  ]);
  const restoredKills = a.kills.filter((k) => !k.error);
  const restoreTimes = restoredKills.map((k) => k.restoreMs);
  const managerStayed =
    !a.error && a.managerPids.length === 1 && a.indexAnswered === a.indexAsked && a.resolverAlive;
  console.log("");
  printTable([
    [
      "kills",
      "restored",
      "restore median ms",
      "restore max ms",
      "lost / sent",
      "GET / answered",
      "GET / slowest ms",
      "manager PIDs seen",
      "manager stayed up",
    ],
    [
      String(a.kills.length),
      String(restoredKills.length),
      fmtMs(median(restoreTimes)),
      fmtMs(maxOf(restoreTimes)),
      lostOf(a.load),
      `${a.indexAnswered}/${a.indexAsked}`,
      fmtMs(a.indexSlowestMs),
      a.managerPids.join(",") || "-",
      managerStayed ? "yes" : "NO",
    ],
  ]);
  for (const f of a.indexFailures.slice(0, 5)) console.log(`  GET / failed: ${f}`);
  console.log(
    `  log: ${a.watchdogRestarts} workers restarted by the manager's watchdog, ` +
      `${a.supervisordRestarts} restarts by supervisord noticed by it`,
  );
  for (const l of a.watchdogLines.slice(0, 10)) console.log(`  log: ${l}`);
  if (a.error) console.log(`(a) the run failed: ${a.error}`);

  console.log("");
  console.log(`faults (b): SIGKILL of the manager under load, ${WORKERS} workers, ${QPS} q/s`);
  printTable([
    ["kill", "at s", "old pid", "new pid", "API back in ms", "workers adopted", "note"],
    ...b.kills.map((k) => [
      String(k.n),
      k.atS.toFixed(1),
      String(k.oldPid || "-"),
      String(k.newPid ?? "-"),
      fmtMs(k.apiBackMs),
      k.workersKept === undefined ? "-" : k.workersKept ? "yes" : "NO",
      k.error ? k.error.slice(0, 100) : "",
    ]),
  ]);
  const apiTimes = b.kills.filter((k) => !k.error).map((k) => k.apiBackMs);
  console.log("");
  printTable([
    ["manager kills", "API back", "API back median ms", "API back max ms", "lost / sent"],
    [
      String(b.kills.length),
      String(apiTimes.length),
      fmtMs(median(apiTimes)),
      fmtMs(maxOf(apiTimes)),
      lostOf(b.load),
    ],
  ]);
  if (b.error) console.log(`(b) the run failed: ${b.error}`);

  const headlines: Headline[] = [
    {
      figure: `faults (a): worker kills restored / done, max restore ms`,
      value: `${restoredKills.length} / ${a.kills.length}, ${fmtMs(maxOf(restoreTimes))}`,
    },
    {
      figure: "faults (a): lost / sent during worker kills",
      value: a.load ? `${a.load.lost} / ${a.load.sent}` : "FAILED",
    },
    {
      figure: "faults (a): manager stayed up (same PID, GET / answering)",
      value: managerStayed ? "yes" : "NO",
    },
    {
      figure: "faults (b): manager kills, API back max ms",
      value: `${apiTimes.length} / ${b.kills.length}, ${fmtMs(maxOf(apiTimes))}`,
    },
    {
      figure: "faults (b): lost / sent during manager kills",
      value: b.load ? `${b.load.lost} / ${b.load.sent}` : "FAILED",
    },
  ];
  const ok =
    !a.error &&
    !b.error &&
    !!a.load &&
    !!b.load &&
    b.kills.every((k) => !k.error) &&
    a.leftovers.length === 0 &&
    b.leftovers.length === 0;
  return { ok, headlines };
}

if (isMain(import.meta.url)) await runStandalone(run);
