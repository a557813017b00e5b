import { luaStringAnswerText } from "../../utils/krprint.js";
import { ManagerError } from "../errors.js";

/**
 * One worker's statistics as upstream Knot Resolver 6 reports them: kresd's `group.name` counters
 * (`answer.total`, `request.udp`, `predict.epoch`…) nested as `{ answer: { total: … }, … }`. A key
 * without a dot stays at the top level.
 */
export type WorkerStatistics = Record<string, number | Record<string, number>>;

/** A worker's answer was not statistics (a Lua error, a changed stats module…). */
export class StatisticsFormatError extends ManagerError {}

/**
 * kresd 5.6's answer to the statistics query (a Lua-quoted string holding the JSON of the flat
 * `stats.list()` table), nested as upstream reports it.
 */
export function parseStatisticsAnswer(answer: string | undefined): WorkerStatistics {
  let text: string;
  if (answer !== undefined && /^'[^\\']*'$/.test(answer)) {
    text = answer.slice(1, -1); // nothing escaped, as usual: skip the byte-wise decoding
  } else {
    try {
      text = luaStringAnswerText(answer);
    } catch {
      throw new StatisticsFormatError(`not statistics: ${JSON.stringify(answer?.slice(0, 200))}`);
    }
  }
  let flat: unknown;
  try {
    flat = JSON.parse(text);
  } catch {
    throw new StatisticsFormatError(`statistics are not JSON: ${JSON.stringify(text.slice(0, 200))}`);
  }
  if (typeof flat !== "object" || flat === null || Array.isArray(flat))
    throw new StatisticsFormatError(`statistics are not a JSON object: ${text.slice(0, 200)}`);
  return nestStatistics(flat as Record<string, unknown>);
}

/**
 * A worker's counters in the order of METRIC_KEYS (lib/datamodel/lua/monitoring.ts), `undefined`
 * for one its kresd does not keep: what a Prometheus scrape reads, without building objects.
 */
export type MetricValues = readonly (number | undefined)[];

/** Lua's spellings (`%.14g`) of values Number() does not read. */
const LUA_SPECIAL: Readonly<Record<string, number>> = {
  inf: Infinity,
  "-inf": -Infinity,
  nan: NaN,
  "-nan": NaN,
};

/**
 * A worker's answer to metricValuesQuery(): `count` values, space-separated in a Lua-quoted
 * string, '-' for a counter it does not keep. Written for speed (a scrape parses one per worker):
 * one split, no regular expression, no intermediate objects.
 */
export function parseMetricValues(answer: string | undefined, count: number): MetricValues {
  const bad = () => new StatisticsFormatError(`not metric values: ${JSON.stringify(answer?.slice(0, 200))}`);
  if (answer === undefined || answer.length < 2 || answer[0] !== "'" || answer[answer.length - 1] !== "'")
    throw bad();
  const parts = answer.slice(1, -1).split(" ");
  if (parts.length !== count) throw bad();
  const values = new Array<number | undefined>(count);
  for (let i = 0; i < count; i++) {
    const p = parts[i] as string;
    if (p === "-") continue;
    const n = Number(p);
    if (p !== "" && !Number.isNaN(n)) values[i] = n;
    else if (p in LUA_SPECIAL) values[i] = LUA_SPECIAL[p];
    else throw bad();
  }
  return values;
}

/** `{"answer.total": 3}` → `{answer: {total: 3}}`, split at the first dot; non-numbers are left out. */
export function nestStatistics(flat: Record<string, unknown>): WorkerStatistics {
  const out: WorkerStatistics = {};
  // Plain keys first, so a group never overwrites (or is overwritten by) a scalar of its name.
  const entries = Object.entries(flat).filter((e): e is [string, number] => typeof e[1] === "number");
  for (const [key, value] of entries) if (!key.includes(".")) out[key] = value;
  for (const [key, value] of entries) {
    const dot = key.indexOf(".");
    if (dot < 0) continue;
    const group = key.slice(0, dot);
    const existing = out[group];
    if (typeof existing === "number") out[key] = value;
    else (out[group] = existing ?? {})[key.slice(dot + 1)] = value;
  }
  return out;
}
