import type { KresConfig } from "../../config.js";
import { kresdLogGroups, kresdLogLevel } from "./schema.js";
import { luaStr, luaStrList, luaValue } from "../../../utils/lua-literal.js";

/**
 * The `logging` section for kresd 5.6: log_level() (debug with the 'kresd' group), log_target(),
 * log_groups() (only the groups kresd knows; process and manager ones stay outside) and the
 * dnstap module. (dnssec.log-bogus is the dnssec section's.)
 */
export function renderLogging(cfg: KresConfig): string {
  const log = cfg.logging;
  const lines = [`log_level(${luaStr(kresdLogLevel(log))})`, `log_target(${luaStr(log.target)})`];

  const groups = kresdLogGroups(log);
  if (groups.length > 0) lines.push(`log_groups(${luaStrList(groups)})`);

  const dnstap = log.dnstap;
  if (dnstap.enable && dnstap["unix-socket"] !== undefined) {
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
  return lines.join("\n");
}
