/**
 * The benchmarks' own copy of the offline guard (no imports: dist/ has no test/ helpers). Appended
 * to every kresd config a benchmark runs, it keeps kresd off the network: this machine has no
 * internet, and traffic to public addresses is flagged.
 *
 * - the root trust anchor goes (no DNSKEY upkeep, no DS lookups up to the root);
 * - the modules that send queries by themselves are unloaded when loaded (root priming, time-skew
 *   detection, RFC 5011 upkeep, key-tag signalling) along with the sentinel and time-jump detection;
 * - the root hints point at 127.0.0.1 only, so whatever kresd would iterate fails on loopback.
 *
 * Forwarding targets and the like in a benchmark config must be loopback addresses; that is the
 * config's business, not the guard's. The guard prints and logs nothing.
 */
const SELF_DRIVEN_MODULES = [
  "priming",
  "detect_time_skew",
  "detect_time_jump",
  "ta_update",
  "ta_signal_query",
  "ta_sentinel",
];

export const OFFLINE_GUARD_LUA = [
  "-- benchmark harness: keep this kresd offline (bench/support/offline.ts)",
  'trust_anchors.remove(".")',
  "do",
  "\tlocal present = {}",
  "\tfor _, m in ipairs(modules.list()) do present[m] = true end",
  `\tfor _, m in ipairs({${SELF_DRIVEN_MODULES.map((m) => `"${m}"`).join(", ")}}) do`,
  "\t\tif present[m] then pcall(modules.unload, m) end",
  "\tend",
  "end",
  'modules.load("hints > iterate")',
  'hints.root({["root.invalid."] = {"127.0.0.1"}})',
  "",
].join("\n");
