/**
 * How soon DoT serves a replaced certificate (issue 23): 2 workers with a DoT listener and
 * `network.tls.watchdog: true`; under a steady UDP load of 1000 queries/s, the pair is replaced
 * ROUNDS times, alternately renamed over the files and by a certbot-style symlink switch (live/ →
 * archive/). Per round: the time from the replacement to the first handshake (openssl s_client,
 * polled) that shows the new certificate, and whether every one of 12 handshakes after it does.
 * The watchdog waits 1 s for the files to settle, so ~1 s is the floor. Not a test.
 * Run: npm run build && node dist/bench/tls-watchdog.js
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { X509Certificate } from "node:crypto";
import type { DnsperfResult } from "../harness/dnsperf.js";
import { LOAD_LOCAL_DATA, withLoad } from "../harness/load.js";
import { freePort } from "../harness/ports.js";
import { sleep } from "../harness/procs.js";
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
import { withResolver } from "../harness/resolver.js";
import { tmpDir } from "../harness/tmp.js";
import { selfSignedCert, servedCertificate, type TlsFiles } from "../harness/tls.js";

const WORKERS = 2;
const QPS = 1000;
const ROUNDS = 8;
/** A round every this many seconds (the load lasts ROUNDS × ROUND_S + a margin). */
const ROUND_S = 4;
const HANDSHAKES = 12;
/** Give up on a round after this long. */
const GIVE_UP_MS = 15_000;
const progress = progressOf("tls-watchdog");

interface Round {
  n: number;
  how: "rename-over" | "symlink switch";
  ms: number;
  /** Handshakes after the first new one that showed the new certificate too. */
  consistent: number;
}

type Pair = TlsFiles & { fingerprint: string };

const fingerprintOf = (file: string) => new X509Certificate(fs.readFileSync(file)).fingerprint256;

function renameOver(from: string, to: string): void {
  fs.copyFileSync(from, `${to}.tmp`);
  fs.renameSync(`${to}.tmp`, to);
}

function switchLink(link: string, target: string): void {
  fs.symlinkSync(target, `${link}.tmp`);
  fs.renameSync(`${link}.tmp`, link);
}

async function round(n: number, pair: Pair, dir: string, dot: number): Promise<Round> {
  const how = n % 2 === 1 ? "rename-over" : "symlink switch";
  const start = performance.now();
  // The configured files are live/cert.pem and live/key.pem: a regular file renamed over the
  // symlink, or a new symlink renamed over whatever is there.
  if (how === "rename-over") {
    renameOver(pair.cert, path.join(dir, "live", "cert.pem"));
    renameOver(pair.key, path.join(dir, "live", "key.pem"));
  } else {
    fs.copyFileSync(pair.cert, path.join(dir, "archive", `cert${n}.pem`));
    fs.copyFileSync(pair.key, path.join(dir, "archive", `key${n}.pem`));
    switchLink(path.join(dir, "live", "cert.pem"), `../archive/cert${n}.pem`);
    switchLink(path.join(dir, "live", "key.pem"), `../archive/key${n}.pem`);
  }
  let ms = NaN;
  while (performance.now() - start < GIVE_UP_MS) {
    const seen = (await servedCertificate(dot).catch(() => undefined))?.fingerprint256;
    if (seen === pair.fingerprint) {
      ms = performance.now() - start;
      break;
    }
    await sleep(25);
  }
  let consistent = 0;
  if (Number.isFinite(ms))
    for (let i = 0; i < HANDSHAKES; i++)
      if ((await servedCertificate(dot)).fingerprint256 === pair.fingerprint) consistent++;
  return { n, how, ms, consistent };
}

export async function run(): Promise<BenchOutcome> {
  const dir = tmpDir("krm-bench-tls-");
  for (const d of ["made", "live", "archive"]) fs.mkdirSync(path.join(dir, d));
  const pairs: Pair[] = [];
  for (let i = 0; i <= ROUNDS + 1; i++) {
    const made = await selfSignedCert(path.join(dir, "made"), { cn: `bench${i}.tls.test`, base: `p${i}` });
    pairs.push({ ...made, fingerprint: fingerprintOf(made.cert) });
  }
  const initial = pairs[0] as Pair;
  fs.copyFileSync(initial.cert, path.join(dir, "archive", "cert0.pem"));
  fs.copyFileSync(initial.key, path.join(dir, "archive", "key0.pem"));
  const live = { cert: path.join(dir, "live", "cert.pem"), key: path.join(dir, "live", "key.pem") };
  fs.symlinkSync("../archive/cert0.pem", live.cert);
  fs.symlinkSync("../archive/key0.pem", live.key);
  const dot = await freePort();
  const rounds: Round[] = [];
  let load: DnsperfResult | undefined;
  let pidsSame = false;
  const { error, leftovers } = await withResolver(
    { workers: WORKERS, name: "tls-watchdog", config: { "local-data": LOAD_LOCAL_DATA } },
    { progress },
    async (resolver) => {
      // The DoT listener and the watched files, added once before the measurement (a restart).
      const r = await resolver.api("PUT", "/v1/config/network", {
        listen: [{ interface: `127.0.0.1@${resolver.port}` }, { interface: `127.0.0.1@${dot}`, kind: "dot" }],
        tls: { watchdog: true, "cert-file": live.cert, "key-file": live.key },
      });
      if (r.status !== 200) throw new Error(`PUT /v1/config/network answered ${r.status}: ${r.text}`);
      progress(`resolver ready (port ${resolver.port}, DoT ${dot}); ${QPS} q/s, ${ROUNDS} replacements`);
      const before = await resolver.workerPids();
      ({ load } = await withLoad(resolver, { qps: QPS, seconds: ROUNDS * ROUND_S + 3 }, async (loadStart) => {
        for (let n = 1; n <= ROUNDS; n++) {
          await sleep(Math.max(0, loadStart + (1 + (n - 1) * ROUND_S) * 1000 - performance.now()));
          const row = await round(n, pairs[n] as Pair, dir, dot);
          rounds.push(row);
          progress(
            `round ${n} (${row.how}): ${fmtMs(row.ms)} ms, ${row.consistent}/${HANDSHAKES} consistent`,
          );
        }
      }));
      pidsSame = JSON.stringify(await resolver.workerPids()) === JSON.stringify(before);
    },
  );
  return report(rounds, load, pidsSame, error, leftovers);
}

function report(
  rounds: Round[],
  load: DnsperfResult | undefined,
  pidsSame: boolean,
  error: string | undefined,
  leftovers: number[],
): BenchOutcome {
  console.log(`tls-watchdog: ${WORKERS} workers, DoT, ${QPS} q/s UDP meanwhile, settle delay 1000 ms`);
  printTable([
    ["round", "replaced by", "new cert served after ms", `handshakes after it with the new cert`],
    ...rounds.map((r) => [String(r.n), r.how, fmtMs(r.ms, 0), `${r.consistent}/${HANDSHAKES}`]),
  ]);
  const times = rounds.map((r) => r.ms).filter(Number.isFinite);
  const allServed = rounds.length === ROUNDS && times.length === ROUNDS;
  console.log("");
  printTable([
    ["served median ms", "served max ms", "queries sent", "lost", "worker PIDs unchanged"],
    [
      fmtMs(median(times), 0),
      fmtMs(maxOf(times), 0),
      load ? String(load.sent) : "-",
      load ? String(load.lost) : "-",
      pidsSame ? "yes" : "NO",
    ],
  ]);
  if (error) console.log(`the run failed: ${error}`);
  return {
    ok: !error && allServed && leftovers.length === 0,
    headlines: [
      {
        figure: `tls-watchdog: new certificate served after, median / max ms (${ROUNDS} replacements)`,
        value: `${fmtMs(median(times), 0)} / ${fmtMs(maxOf(times), 0)}`,
      },
      {
        figure: "tls-watchdog: lost / sent meanwhile, worker PIDs unchanged",
        value: load ? `${load.lost} / ${load.sent}, ${pidsSame ? "yes" : "NO"}` : "FAILED",
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
