import type { KresConfig } from "../../config.js";
import { kresdLogGroups } from "./schema.js";
import { timeMillis } from "../../types/index.js";
import { luaBool, luaNum, luaStr, luaStrList, luaValue } from "../../../utils/lua-literal.js";

/**
 * The `logging` section for kresd 5.6: log_level(), log_target(), log_groups() (only the
 * groups kresd knows; manager-side ones stay with the manager), bogus_log for dnssec-bogus,
 * the dnstap module, and the `debugging` assertion knobs.
 */
export function renderLogging(cfg: KresConfig): string {
  const log = cfg.logging;
  const lines = [`log_level(${luaStr(log.level)})`, `log_target(${luaStr(log.target)})`];

  const groups = kresdLogGroups(log);
  if (groups.length > 0) lines.push(`log_groups(${luaStrList(groups)})`);

  if (log["dnssec-bogus"]) lines.push(`modules.load(${luaStr("bogus_log")})`);

  if (log.dnstap !== false) {
    const dnstap = log.dnstap;
    lines.push(
      `modules.load(${luaStr("dnstap")})`,
      `dnstap.config(${luaValue({
        socket_path: dnstap["unix-socket"],
        client: {
          log_queries: dnstap["log-queries"],
          log_responses: dnstap["log-responses"],
          log_tcp_rtt: dnstap["log-tcp-rtt"],
        },
      })})`,
    );
  }

  const dbg = log.debugging;
  lines.push(
    `debugging.assertion_abort = ${luaBool(dbg["assertion-abort"])}`,
    `debugging.assertion_fork = ${luaNum(timeMillis(dbg["assertion-fork"]))}`,
  );
  return lines.join("\n");
}
