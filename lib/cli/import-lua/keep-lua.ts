import type { Findings } from "./findings.js";
import type { RecordedEvent } from "./run.js";

/**
 * --keep-lua: the top-level statements of the kresd.conf that did something the YAML cannot hold,
 * verbatim and in their order, each after a comment naming its lines, for `lua.script` (run by
 * every worker after the generated config). A statement that also did translated things is not
 * carried (it would do them twice) and is reported instead. Statements that did nothing recorded
 * (local definitions, helper functions, environment reads) are carried along before the ones that
 * may use them.
 */

export interface KeptLua {
  script: string | undefined;
  /** Whether the statement a top-level line belongs to went into the script. */
  carried(top: number | undefined): boolean;
  /** Warnings about statements that could not be carried. */
  notCarried: { line: number; message: string }[];
}

const QUIET_OPS = new Set(["env", "read"]);

export function keepLua(
  source: string,
  display: string,
  spans: readonly [number, number][],
  events: readonly RecordedEvent[],
  findings: Findings,
): KeptLua {
  const lines = source.split("\n");
  const spanOf = (line: number) => spans.find(([a, b]) => a <= line && line <= b);
  const loud = new Set<[number, number]>();
  for (const ev of events) {
    if (ev.top === undefined || QUIET_OPS.has(ev.op)) continue;
    const s = spanOf(ev.top);
    if (s) loud.add(s);
  }
  const carry = new Set<[number, number]>();
  const notCarried: KeptLua["notCarried"] = [];
  for (const ev of findings.untranslatedEvents) {
    const s = ev.top === undefined ? undefined : spanOf(ev.top);
    if (!s || carry.has(s) || notCarried.some((n) => n.line === s[0])) continue;
    const mixed = [...findings.translatedEvents].some(
      (t) => !QUIET_OPS.has(t.op) && t.top !== undefined && spanOf(t.top) === s,
    );
    if (mixed) {
      notCarried.push({
        line: s[0],
        message: `lines ${s[0]}-${s[1]} also did what the YAML holds; not carried into lua.script (it would be done twice)`,
      });
      continue;
    }
    carry.add(s);
  }
  const carried = (top: number | undefined) => {
    const s = top === undefined ? undefined : spanOf(top);
    return s !== undefined && carry.has(s);
  };
  if (carry.size === 0) return { script: undefined, carried, notCarried };
  const last = Math.max(...[...carry].map(([, b]) => b));
  const parts = [`-- kresctl import-lua: what ${display} does that the YAML cannot say, in its order`];
  for (const s of spans) {
    if (s[1] > last) break;
    const quiet = !loud.has(s);
    if (!carry.has(s) && !quiet) continue;
    const range = s[0] === s[1] ? `${s[0]}` : `${s[0]}-${s[1]}`;
    parts.push(
      `-- ${display}:${range}${quiet ? " (definitions)" : ""}`,
      lines.slice(s[0] - 1, s[1]).join("\n"),
    );
  }
  return { script: parts.join("\n") + "\n", carried, notCarried };
}
