import { isIP } from "node:net";
import type { KresConfig } from "../config.js";
import { punycode, timeMillis } from "../types/index.js";
import { luaBool, luaNum, luaStr } from "../../utils/lua.js";

/**
 * Name of the global Lua function that the rendered config defines in every worker unless
 * monitoring is 'manager-only'. It returns `stats.list()` (a table; wrap it in `tojson(...)`
 * over the control socket) and, in 'lazy' mode, loads the stats module on its first call.
 */
export const COLLECT_STATISTICS_FN = "collect_statistics";

/**
 * Lua expression the manager sends to a worker's control socket for its statistics, if any.
 * kresd 5.6 answers (in text and in `__binary` mode alike) with the JSON as a printed Lua
 * string: in single quotes, bytes outside printable ASCII, `'` and `\` as `\ddd`.
 */
export function statisticsQuery(cfg: KresConfig): string | undefined {
  return cfg.monitoring.enabled === "manager-only" ? undefined : `tojson(${COLLECT_STATISTICS_FN}())`;
}

/**
 * The `monitoring` section for kresd 5.6:
 * - 'always' loads the `stats` module at start; 'lazy' defers that to the first call of
 *   collect_statistics() (what the manager does when metrics are first asked for), as upstream;
 *   'manager-only' keeps stats out of the workers.
 * - `graphite` loads kresd's graphite module (which loads stats itself) and configures it.
 */
export function renderMonitoring(cfg: KresConfig): string {
  const mon = cfg.monitoring;
  const lines: string[] = [];
  if (mon.enabled === "always") lines.push(`modules.load(${luaStr("stats")})`);
  if (mon.enabled !== "manager-only") {
    lines.push(
      `function ${COLLECT_STATISTICS_FN}()`,
      `\tif stats == nil then modules.load(${luaStr("stats")}) end`,
      "\treturn stats.list()",
      "end",
    );
  }
  if (mon.graphite !== false) {
    const g = mon.graphite;
    const host = isIP(g.host) ? g.host : (punycode(g.host) ?? g.host);
    const fields = [
      `host = ${luaStr(host)}`,
      `port = ${luaNum(g.port)}`,
      `interval = ${luaNum(timeMillis(g.interval))}`,
      `tcp = ${luaBool(g.tcp)}`,
    ];
    // Each worker reports under its own ID; an empty prefix keeps kresd's own default,
    // 'kresd.<hostname>.<worker-id>'.
    if (g.prefix !== "") fields.push(`prefix = ${luaStr(`${g.prefix}.`)} .. worker.id`);
    lines.push(`modules.load(${luaStr("graphite")})`, `graphite.config({${fields.join(", ")}})`);
  }
  return lines.join("\n");
}
