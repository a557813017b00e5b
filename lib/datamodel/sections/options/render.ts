import type { KresConfig } from "../../config.js";
import { luaBool, luaStr } from "../../../utils/lua-literal.js";

function toggleModule(name: string, on: boolean): string {
  return `modules.${on ? "load" : "unload"}(${luaStr(name)})`;
}

/**
 * The options section. kresd 5.6 loads priming, detect_time_jump and refuse_nord by default, so
 * they are loaded or unloaded explicitly; the other modules are loaded only when asked for.
 */
export function renderOptions(cfg: KresConfig): string {
  const o = cfg.options;
  const lines = [
    `mode(${luaStr(o["glue-checking"])})`,
    `option(${luaStr("NO_MINIMIZE")}, ${luaBool(!o.minimize)})`,
    `option(${luaStr("ALLOW_LOCAL")}, ${luaBool(o["query-loopback"])})`,
    `option(${luaStr("REORDER_RR")}, ${luaBool(o["reorder-rrset"])})`,
    `option(${luaStr("NO_0X20")}, ${luaBool(!o["query-case-randomization"])})`,
    toggleModule("priming", o.priming),
    toggleModule("detect_time_jump", o["time-jump-detection"]),
    toggleModule("refuse_nord", o["refuse-no-rd"]),
  ];
  if (o["rebinding-protection"]) lines.push(`modules.load(${luaStr("rebinding < iterate")})`);
  if (o["violators-workarounds"]) lines.push(`modules.load(${luaStr("workarounds < iterate")})`);
  if (o["serve-stale"]) lines.push(`modules.load(${luaStr("serve_stale < cache")})`);
  return lines.join("\n");
}
