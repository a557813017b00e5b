/**
 * The offline guard: Lua appended after every kresd config a benchmark or a test runs, so that kresd
 * sends nothing to the internet (there is none here, and traffic to public addresses is flagged).
 * startKresd() (./kresd.ts), startResolver() and BenchResolver (./resolver.ts) append it.
 *
 * - the root trust anchor goes (no DNSKEY upkeep, no DS lookups up to the root);
 * - the modules that send queries by themselves are unloaded when loaded (root priming, time-skew
 *   detection, RFC 5011 upkeep, key-tag signalling) along with the sentinel and time-jump detection;
 * - the root hints point at 127.0.0.1 only, so whatever kresd would iterate fails on loopback (the
 *   hints module is loaded for that unless the config loaded it: loading it again would drop the
 *   config's own hints).
 *
 * What the config itself sends somewhere is not the guard's business: forward targets, graphite
 * hosts, prefill URLs… in a config must be loopback addresses. (A forward rule for '.' catches
 * every query in kresd 5.6, even the 'localhost' readiness probe.) The guard prints and logs nothing.
 */
import { luaStr, luaStrList } from "../lib/utils/lua-literal.js";

/**
 * Modules kresd 5.6 loads by default that send queries of their own: root priming, time-skew
 * detection, RFC 5011 trust-anchor upkeep and key-tag signalling (all through the root hints), plus
 * the sentinel and time-jump detection (no traffic, but part of the same self-driven machinery).
 */
export const OFFLINE_MODULES = [
  "priming",
  "detect_time_skew",
  "detect_time_jump",
  "ta_update",
  "ta_signal_query",
  "ta_sentinel",
] as const;

/** Loopback root hints: anything kresd would iterate from the root goes to 127.0.0.1 instead. */
const LOOPBACK_ROOT = "root.invalid.";

export interface OfflineOptions {
  /**
   * Keep DNSSEC validation on: the root trust anchor (and any other) stays, and so does `ta_update`
   * (its RFC 5011 refreshes then go to the loopback root hints like every other iteration). For
   * tests that need validation; they must not reach the internet another way.
   */
  dnssec?: boolean;
  /**
   * Modules of OFFLINE_MODULES to leave loaded, for a test that checks the config loaded them. Their
   * queries still only go to the loopback root hints.
   */
  keep?: readonly string[];
}

/**
 * The guard's Lua: the self-driven modules are unloaded (OFFLINE_MODULES; those not loaded are
 * skipped), the root trust anchor is removed, and the root hints point at 127.0.0.1 only, so a name
 * kresd cannot answer locally is iterated against loopback and fails there.
 */
export function offlineLua(opts: OfflineOptions = {}): string {
  const keep = new Set<string>(opts.keep ?? []);
  if (opts.dnssec) keep.add("ta_update");
  const unload = OFFLINE_MODULES.filter((m) => !keep.has(m));
  const lines = ["-- harness: keep this kresd offline (harness/offline.ts)"];
  if (!opts.dnssec) lines.push(`trust_anchors.remove(${luaStr(".")})`);
  lines.push(
    "do",
    "\tlocal present = {}",
    "\tfor _, m in ipairs(modules.list()) do present[m] = true end",
    `\tfor _, m in ipairs(${luaStrList(unload)}) do`,
    "\t\tif present[m] then pcall(modules.unload, m) end",
    "\tend",
    // loading hints again would reload it and drop the config's own hints
    `\tif not present.hints then modules.load(${luaStr("hints > iterate")}) end`,
    "end",
    `hints.root({[${luaStr(LOOPBACK_ROOT)}] = {${luaStr("127.0.0.1")}}})`,
  );
  return lines.join("\n") + "\n";
}

/** The guard with every default, as the harness appends it. */
export const OFFLINE_LUA = offlineLua();
