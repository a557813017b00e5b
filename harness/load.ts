/** The query load the loss benchmarks share: local-data names answered by every worker itself. */
import { performance } from "node:perf_hooks";
import { startDnsperf, type DnsperfResult } from "./dnsperf.js";
import type { BenchResolver, BenchResolverOptions } from "./resolver.js";

const NAME_COUNT = 100;

/** The query names (A queries); dnsperf cycles through them. */
export const LOAD_NAMES = Array.from({ length: NAME_COUNT }, (_, i) => `host${i}.bench.test.`);

/** The `local-data` config section that answers them, one A record each (TEST-NET-1). */
export const LOAD_LOCAL_DATA = {
  addresses: Object.fromEntries(LOAD_NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])),
};

/** A resolver of `workers` workers (no more) that answers LOAD_NAMES; `name` names its directory. */
export const loadResolver = (workers: number, name: string): BenchResolverOptions => ({
  workers,
  name,
  config: { "local-data": LOAD_LOCAL_DATA },
});

/**
 * Runs `body` under a dnsperf load of LOAD_NAMES at `qps` for `seconds` against the resolver
 * (`loadStart` is performance.now() just after dnsperf started); then waits for dnsperf's counts.
 * dnsperf is killed whatever happens.
 */
export async function withLoad<T>(
  resolver: BenchResolver,
  load: { qps: number; seconds: number; timeoutSeconds?: number; maxOutstanding?: number },
  body: (loadStart: number) => Promise<T>,
): Promise<{ result: T; load: DnsperfResult }> {
  const dnsperf = startDnsperf({ port: resolver.port, names: LOAD_NAMES, ...load });
  const loadStart = performance.now();
  try {
    const result = await body(loadStart);
    return { result, load: await dnsperf.done };
  } finally {
    dnsperf.kill();
  }
}
