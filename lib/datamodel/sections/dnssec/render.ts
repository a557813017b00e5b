import type { KresConfig } from "../../config.js";
import { absoluteName } from "../../types/index.js";
import { luaBool, luaStr, luaStrList } from "../../../utils/lua-literal.js";

/**
 * Modules kresd 5.6 loads by default for DNSSEC, with the dnssec key that controls each.
 * Unloading is guarded: kresd errors when unloading a module that is not loaded.
 */
const DNSSEC_MODULES = [
  ["sentinel", "ta_sentinel"],
  ["signal-query", "ta_signal_query"],
] as const;

/** Loaded by default and kept while validating (upstream has no switch for it since 6.0.17). */
const TIME_SKEW_MODULE = "detect_time_skew";

function unload(module: string): string {
  return `if ${module} ~= nil then modules.unload(${luaStr(module)}) end`;
}

/**
 * Names below which nothing is validated: the dnssec section's negative trust anchors and the
 * subtrees forwarded with `dnssec: false` (kresd 5.6 has no per-rule switch; upstream's per-rule
 * `dnssec: false` is expressed as a negative trust anchor). Absolute, deduplicated, in order.
 */
export function insecureNames(cfg: KresConfig): string[] {
  const own = cfg.dnssec.enable ? (cfg.dnssec["negative-trust-anchors"] ?? []) : [];
  return [...new Set([...own.map(absoluteName), ...forwardedInsecure(cfg)])];
}

/** Subtrees forwarded with `dnssec: false`, absolute and deduplicated. */
export function forwardedInsecure(cfg: KresConfig): string[] {
  const names = (cfg.forward ?? []).filter((r) => !r.options.dnssec).flatMap((r) => r.subtree);
  return [...new Set(names.map(absoluteName))];
}

/**
 * The `dnssec` section. kresd 5.6 validates whenever it has a trust anchor; it starts with the
 * root's (Debian's /usr/share/dns/root.key, read-only) and the sentinel, signal-query and
 * time-skew modules loaded. `enable: false` removes the root trust anchor, which is how 5.6
 * turns validation off (and unloads the modules that only make sense while validating).
 */
export function renderDnssec(cfg: KresConfig): string {
  const d = cfg.dnssec;
  const lines: string[] = [];
  const insecure = insecureNames(cfg);
  if (!d.enable) {
    lines.push(
      "-- validation off: without a trust anchor kresd validates nothing",
      "trust_anchors.remove('.')",
    );
    for (const [, module] of DNSSEC_MODULES) lines.push(unload(module));
    lines.push(unload(TIME_SKEW_MODULE));
  } else {
    if (d["log-bogus"]) lines.push(`modules.load(${luaStr("bogus_log")})`);
    for (const [key, module] of DNSSEC_MODULES) if (!d[key]) lines.push(unload(module));
    for (const taf of d["trust-anchors-files"] ?? []) {
      lines.push(`trust_anchors.add_file(${luaStr(taf.file)}, ${luaBool(taf["read-only"])})`);
    }
    for (const ta of d["trust-anchors"] ?? []) lines.push(`trust_anchors.add(${luaStr(ta)})`);
    if (insecure.includes(".")) {
      // A negative trust anchor at the root turns validation off everywhere; kresd 5.6 refuses an
      // NTA where a trust anchor is, so every trust anchor is dropped instead.
      lines.push(
        "-- the root is a negative trust anchor: drop every trust anchor",
        "do",
        "  local owners = {}",
        "  for owner in pairs(trust_anchors.keysets) do table.insert(owners, owner) end",
        "  for _, owner in ipairs(owners) do trust_anchors.remove(kres.dname2str(owner)) end",
        "end",
      );
    }
  }
  const ntas = insecure.filter((n) => n !== ".");
  const forwarded = forwardedInsecure(cfg).filter((n) => n !== ".");
  if (d.enable && forwarded.length > 0) {
    // Upstream's per-rule switch ignores trust anchors in the subtree; kresd 5.6 refuses an NTA
    // where a trust anchor is, so one at a forwarded name is dropped first.
    lines.push(`for _, name in ipairs(${luaStrList(forwarded)}) do trust_anchors.remove(name) end`);
  }
  if (ntas.length > 0) lines.push(`trust_anchors.set_insecure(${luaStrList(ntas)})`);
  return lines.join("\n");
}
