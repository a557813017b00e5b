import type { KresConfig } from "../../config.js";
import { luaStr } from "../../../utils/lua-literal.js";

/** Top-level identity settings: hostname and NSID. */
export function renderGeneral(cfg: KresConfig): string {
  const lines = [`hostname(${luaStr(cfg.hostname)})`];
  if (cfg.nsid !== undefined) {
    lines.push("modules.load('nsid')", `nsid.name(${luaStr(cfg.nsid)})`);
  }
  return lines.join("\n");
}
