/**
 * A steady UDP load on loopback with Debian's dnsperf. For the benchmarks, startDnsperf runs it in
 * a process group of its own and a temporary directory holding its query file; both go when the
 * run ends or the benchmark is interrupted. The test harness (test/helpers/dnsperf.ts) runs the
 * same command (dnsperfArgs) under its own process and directory bookkeeping.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { onExitCleanup, signalPid } from "./bench-procs.js";

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
}

export interface DnsperfRun {
  /** Resolves with dnsperf's counts when it is done; rejects when it failed. */
  done: Promise<DnsperfResult>;
  /** SIGKILL to dnsperf (its whole process group), for an aborted benchmark. */
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
  ].flat();
}

/** Starts dnsperf now against 127.0.0.1:port. */
export function startDnsperf(opts: DnsperfOptions): DnsperfRun {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-bench-dnsperf-"));
  const child = spawn(DNSPERF, dnsperfArgs(opts, dir), { detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const kill = () => {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null)
      signalPid(-child.pid, "SIGKILL");
  };
  const forget = onExitCleanup(() => {
    kill();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const done = new Promise<DnsperfResult>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`dnsperf: ${e.message}`)));
    child.once("close", (code, signal) => {
      forget();
      fs.rmSync(dir, { recursive: true, force: true });
      if (code !== 0) {
        reject(new Error(`dnsperf exited with ${signal ?? code}: ${stderr.trim()}\n${stdout.slice(-2000)}`));
        return;
      }
      try {
        resolve(parseDnsperf(stdout));
      } catch (e) {
        reject(e as Error);
      }
    });
  });
  return { done, kill };
}
