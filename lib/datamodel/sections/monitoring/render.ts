import { isIP } from "node:net";
import type { KresConfig } from "../../config.js";
import { punycode, timeMillis } from "../../types/index.js";
import { luaBool, luaNum, luaStr, luaStrList } from "../../../utils/lua-literal.js";

/**
 * Name of the global Lua function that the rendered config defines in every worker unless
 * monitoring is 'manager-only'. It returns `stats.list()` (a table; wrap it in `tojson(...)`
 * over the control socket) and, in 'lazy' mode, loads the stats module on its first call.
 */
export const COLLECT_STATISTICS_FN = "collect_statistics";

/**
 * The kresd counters the Prometheus exposition reads, in the order METRIC_VALUES_FN returns them.
 * Asking for just these values (not the JSON of every counter) keeps a scrape cheap for the workers
 * and for the manager, which asks all of them at once.
 */
export const METRIC_KEYS: readonly string[] = [
  "request.total",
  "request.internal",
  "request.udp",
  "request.tcp",
  "request.dot",
  "request.doh",
  "request.xdp",
  "answer.total",
  "answer.cached",
  "answer.stale",
  "answer.noerror",
  "answer.nodata",
  "answer.nxdomain",
  "answer.servfail",
  "answer.aa",
  "answer.tc",
  "answer.ra",
  "answer.rd",
  "answer.ad",
  "answer.cd",
  "answer.do",
  "answer.edns0",
  "query.edns",
  "query.dnssec",
  "predict.epoch",
  "predict.queue",
  "predict.learned",
  "answer.1ms",
  "answer.10ms",
  "answer.50ms",
  "answer.100ms",
  "answer.250ms",
  "answer.500ms",
  "answer.1000ms",
  "answer.1500ms",
  "answer.slow",
  "answer.sum_ms",
];

/** Global Lua function returning the METRIC_KEYS values, space-separated, '-' for a missing one. */
export const METRIC_VALUES_FN = "collect_metric_values";

/** Lua expression for the METRIC_KEYS values of a worker, if it keeps statistics. */
export function metricValuesQuery(cfg: KresConfig): string | undefined {
  return cfg.monitoring.metrics === "manager-only" ? undefined : `${METRIC_VALUES_FN}()`;
}

/**
 * Lua expression the manager sends to a worker's control socket for its statistics, if any.
 * kresd 5.6 answers (in text and in `__binary` mode alike) with the JSON as a printed Lua
 * string: in single quotes, bytes outside printable ASCII, `'` and `\` as `\ddd`.
 */
export function statisticsQuery(cfg: KresConfig): string | undefined {
  return cfg.monitoring.metrics === "manager-only" ? undefined : `tojson(${COLLECT_STATISTICS_FN}())`;
}

/**
 * The `monitoring` section for kresd 5.6:
 * - 'always' loads the `stats` module at start; 'lazy' defers that to the first call of
 *   collect_statistics() (what the manager does when metrics are first asked for), as upstream;
 *   'manager-only' keeps stats out of the workers.
 * - `graphite` (when enabled) loads kresd's graphite module (which loads stats itself) and configures it.
 */
export function renderMonitoring(cfg: KresConfig): string {
  const mon = cfg.monitoring;
  const lines: string[] = [];
  if (mon.metrics === "always") lines.push(`modules.load(${luaStr("stats")})`);
  if (mon.metrics !== "manager-only") {
    lines.push(
      `function ${COLLECT_STATISTICS_FN}()`,
      `\tif stats == nil then modules.load(${luaStr("stats")}) end`,
      "\treturn stats.list()",
      "end",
      `local ${METRIC_VALUES_FN}_keys = ${luaStrList(METRIC_KEYS)}`,
      `function ${METRIC_VALUES_FN}()`,
      `\tlocal s, out = ${COLLECT_STATISTICS_FN}(), {}`,
      `\tfor i, k in ipairs(${METRIC_VALUES_FN}_keys) do out[i] = s[k] or '-' end`,
      "\treturn table.concat(out, ' ')",
      "end",
    );
  }
  const g = mon.graphite;
  if (g.enable && g.host !== undefined) {
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
