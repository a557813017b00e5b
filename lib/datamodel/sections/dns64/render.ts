import type { KresConfig } from "../../config.js";
import { luaNum, luaStr, luaStrList } from "../../../utils/lua-literal.js";
import { timeSeconds } from "../../types/index.js";

/** The `dns64` section: kresd 5.6's dns64 module, configured with the /96 prefix's address. */
export function renderDns64(cfg: KresConfig): string {
  const d = cfg.dns64;
  if (!d.enable) return "";
  const fields = [`prefix = ${luaStr(d.prefix.split("/")[0] as string)}`];
  if (d["reverse-ttl"] !== undefined) fields.push(`rev_ttl = ${luaNum(timeSeconds(d["reverse-ttl"]))}`);
  // Like upstream, an empty list keeps the module's default exclusion (::ffff:0:0/96).
  if (d["exclude-subnets"]?.length) fields.push(`exclude_subnets = ${luaStrList(d["exclude-subnets"])}`);
  return ["modules.load('dns64')", `dns64.config({${fields.join(", ")}})`].join("\n");
}
