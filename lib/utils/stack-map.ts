import * as fs from "node:fs";
import { SourceMap } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Stack traces that name the TypeScript sources although the code runs bundled (dist/bundle/, see
 * scripts/bundle.mjs). Node's --enable-source-maps would do it for every stack but parses every
 * map at start-up, which costs more CPU than bundling saves; this reads a map only when a stack is
 * printed (an internal error), once per file.
 */

const maps = new Map<string, SourceMap | null>();

function mapOf(file: string): SourceMap | null {
  let map = maps.get(file);
  if (map === undefined) {
    try {
      map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, "utf8")) as never);
    } catch {
      map = null; // no map beside it (unbundled code, node's own modules): left as it is
    }
    maps.set(file, map);
  }
  return map;
}

/** One `file:///….js:LINE:COLUMN` position of a stack as its source's `/….ts:LINE:COLUMN`. */
function mapPosition(url: string, line: number, column: number): string | undefined {
  const file = fileURLToPath(url);
  const map = mapOf(file);
  const entry = map?.findEntry(line - 1, column - 1) as
    { originalSource?: string; originalLine?: number; originalColumn?: number } | undefined;
  if (!entry?.originalSource || entry.originalLine === undefined || entry.originalColumn === undefined)
    return undefined;
  const source = entry.originalSource.startsWith("file://")
    ? fileURLToPath(entry.originalSource)
    : path.resolve(path.dirname(file), entry.originalSource);
  return `${source}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
}

/** `stack` with every position in a file that has a source map beside it mapped to its source. */
export function mapStack(stack: string): string {
  return stack.replace(
    /(file:\/\/[^\s()]+\.[cm]?js):(\d+):(\d+)/g,
    (whole, url: string, l: string, c: string) => {
      try {
        return mapPosition(url, Number(l), Number(c)) ?? whole;
      } catch {
        return whole;
      }
    },
  );
}

/** An error for a log or stderr: its stack with source positions (or its message), anything else as text. */
export function describeError(e: unknown): string {
  return e instanceof Error ? (e.stack === undefined ? e.message : mapStack(e.stack)) : String(e);
}
