import type { KresConfig } from "../../config.js";
import { luaStr } from "../../../utils/lua-literal.js";

/** The lua section: the user's raw Lua, verbatim (by design), or a file run with dofile(). */
export function renderLua(cfg: KresConfig): string {
  const { script, "script-file": file } = cfg.lua;
  const parts: string[] = [];
  if (file !== undefined) parts.push(`dofile(${luaStr(file)})`);
  if (script) parts.push(script);
  return parts.join("\n");
}
