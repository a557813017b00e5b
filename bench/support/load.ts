/** The query load the loss benchmarks share: local-data names answered by every worker itself. */
const NAME_COUNT = 100;

/** The query names (A queries); dnsperf cycles through them. */
export const LOAD_NAMES = Array.from({ length: NAME_COUNT }, (_, i) => `host${i}.bench.test.`);

/** The `local-data` config section that answers them, one A record each (TEST-NET-1). */
export const LOAD_LOCAL_DATA = {
  addresses: Object.fromEntries(LOAD_NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])),
};
