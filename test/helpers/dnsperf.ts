import * as fs from "node:fs";
import * as path from "node:path";
import { GroupProcess } from "./procs.js";
import { tmpDir } from "./tmp.js";

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

const number = (raw: string, label: string): number => {
  const m = new RegExp(`${label}:\\s+(\\d+)`).exec(raw);
  if (!m) throw new Error(`dnsperf printed no "${label}":\n${raw}`);
  return Number(m[1]);
};

/** Parses the summary dnsperf prints at the end of a run. */
export function parseDnsperf(raw: string): DnsperfResult {
  return {
    sent: number(raw, "Queries sent"),
    completed: number(raw, "Queries completed"),
    lost: number(raw, "Queries lost"),
    raw,
  };
}

/**
 * A steady UDP load on 127.0.0.1 with dnsperf (Debian's `dnsperf`), started now; `done` resolves
 * with its counts when the run is over.
 */
export function startDnsperf(opts: DnsperfOptions): { done: Promise<DnsperfResult> } {
  const dir = tmpDir("krm-dnsperf-");
  const data = path.join(dir, "queries.txt");
  fs.writeFileSync(data, opts.names.map((n) => `${n} A\n`).join(""));
  const proc = new GroupProcess(
    "/usr/bin/dnsperf",
    [
      ["-s", "127.0.0.1"],
      ["-p", String(opts.port)],
      ["-d", data],
      ["-Q", String(opts.qps)],
      ["-l", String(opts.seconds)],
      ["-t", String(opts.timeoutSeconds ?? 2)],
    ].flat(),
    { name: "dnsperf" },
  );
  const done = proc.exited.then((status) => {
    if (status.code !== 0) throw new Error(`dnsperf failed: ${proc.describe()}\n${proc.stdout}`);
    return parseDnsperf(proc.stdout);
  });
  return { done };
}
