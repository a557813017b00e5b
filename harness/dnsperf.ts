/**
 * A steady UDP load on loopback with Debian's dnsperf, for tests and benchmarks: startDnsperf runs
 * it in a process group of its own (GroupProcess) with its query file in a temporary directory; both
 * go when the run ends, after the test file, or when the benchmark exits or is interrupted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { GroupProcess } from "./procs.js";
import { tmpDir } from "./tmp.js";

export const DNSPERF = "/usr/bin/dnsperf";

export interface DnsperfResult {
  sent: number;
  completed: number;
  lost: number;
  /** dnsperf's own report, as printed. */
  raw: string;
}

export interface DnsperfOptions {
  port: number;
  /** Query names (A queries), cycled through. */
  names: readonly string[];
  qps: number;
  seconds: number;
  /** How long dnsperf waits for an answer before counting the query lost (default 2 s). */
  timeoutSeconds?: number;
  /**
   * Queries dnsperf keeps outstanding at most (its -q, default 100). While that many wait for an
   * answer it sends no more, so an outage of T seconds shows as at most this many lost: a run that
   * counts an outage's losses needs qps × timeoutSeconds or more.
   */
  maxOutstanding?: number;
  /** Transport (default udp); tcp keeps `clients` connections. */
  mode?: "udp" | "tcp";
  /** How many clients (sockets, connections) dnsperf acts as (default 1). */
  clients?: number;
  /** Stop after going through the names this many times (then `seconds` is only a ceiling). */
  passes?: number;
}

export interface DnsperfRun {
  /** Resolves with dnsperf's counts when it is done; rejects when it failed. */
  done: Promise<DnsperfResult>;
  /** SIGKILL to dnsperf (its whole process group), for an aborted run. */
  kill(): void;
}

function count(raw: string, label: string): number {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(raw);
  if (!m) throw new Error(`dnsperf printed no "${label}":\n${raw.slice(-2000)}`);
  return Number(m[1]);
}

/** dnsperf's end-of-run summary. */
export function parseDnsperf(raw: string): DnsperfResult {
  return {
    sent: count(raw, "Queries sent"),
    completed: count(raw, "Queries completed"),
    lost: count(raw, "Queries lost"),
    raw,
  };
}

/** Writes the query file into `dir` and returns DNSPERF's arguments for a run against 127.0.0.1:port. */
export function dnsperfArgs(opts: DnsperfOptions, dir: string): string[] {
  const data = path.join(dir, "queries.txt");
  fs.writeFileSync(data, opts.names.map((n) => `${n} A\n`).join(""));
  return [
    ["-s", "127.0.0.1"],
    ["-p", String(opts.port)],
    ["-d", data],
    ["-Q", String(opts.qps)],
    ["-l", String(opts.seconds)],
    ["-t", String(opts.timeoutSeconds ?? 2)],
    opts.maxOutstanding !== undefined ? ["-q", String(opts.maxOutstanding)] : [],
    ["-m", opts.mode ?? "udp"],
    ["-c", String(opts.clients ?? 1)],
    opts.passes === undefined ? [] : ["-n", String(opts.passes)],
  ].flat();
}

/** Starts dnsperf now against 127.0.0.1:port; `done` resolves with its counts when the run is over. */
export function startDnsperf(opts: DnsperfOptions): DnsperfRun {
  const dir = tmpDir("krm-dnsperf-");
  const proc = new GroupProcess(DNSPERF, dnsperfArgs(opts, dir), { name: "dnsperf" });
  const done = proc.exited.then((status) => {
    fs.rmSync(dir, { recursive: true, force: true });
    if (status.code !== 0) throw new Error(`dnsperf failed: ${proc.describe()}\n${proc.stdout.slice(-2000)}`);
    return parseDnsperf(proc.stdout);
  });
  const kill = (): void => {
    if (proc.running) proc.killNow();
  };
  return { done, kill };
}
