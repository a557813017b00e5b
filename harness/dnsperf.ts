import {
  DNSPERF,
  dnsperfArgs,
  parseDnsperf,
  type DnsperfOptions,
  type DnsperfResult,
} from "./bench-dnsperf.js";
import { GroupProcess } from "./procs.js";
import { tmpDir } from "./tmp.js";

export { parseDnsperf, type DnsperfOptions, type DnsperfResult };

/**
 * A steady UDP load on 127.0.0.1 with dnsperf (Debian's `dnsperf`; the command is the benchmarks',
 * bench/support/dnsperf.ts), started now under the harness's cleanup; `done` resolves with its
 * counts when the run is over.
 */
export function startDnsperf(opts: DnsperfOptions): { done: Promise<DnsperfResult> } {
  const proc = new GroupProcess(DNSPERF, dnsperfArgs(opts, tmpDir("krm-dnsperf-")), { name: "dnsperf" });
  const done = proc.exited.then((status) => {
    if (status.code !== 0) throw new Error(`dnsperf failed: ${proc.describe()}\n${proc.stdout}`);
    return parseDnsperf(proc.stdout);
  });
  return { done };
}
