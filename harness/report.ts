/**
 * What every benchmark module shares: its outcome (the headline figures the runner bench/all.ts
 * puts in its summary, and whether the run itself worked), table printing, a few statistics, and
 * the "run me when I am the entry point" switch that keeps `node dist/bench/<name>.js` working.
 */
import * as fs from "node:fs";
import { fileURLToPath } from "node:url";

/** One line of the runner's summary. */
export interface Headline {
  figure: string;
  value: string;
}

/**
 * One figure beside the floor it stands on, measured in the same run (e.g. a bare kresd start),
 * for the summary table of `npm run bench` (issue 17) and the README.
 */
export interface FloorFigure {
  figure: string;
  /** NaN when the run failed. */
  value: number;
  unit: "ms" | "MiB";
  floor: number;
  /** What the floor is, e.g. "bare kresd start". */
  floorWhat: string;
  /** The target in words, e.g. "≤ floor + 500 ms". */
  target: string;
  met?: boolean;
  /** Anything else the figure needs said, e.g. "0 of 21000 queries lost". */
  note?: string;
}

export interface BenchOutcome {
  headlines: Headline[];
  /** False when the run itself failed (not when a figure is merely bad). */
  ok: boolean;
  figures?: FloorFigure[];
}

/** FloorFigures as a table: figure, value, floor, ratio, target, met. */
export function printFloorTable(figures: readonly FloorFigure[]): void {
  const num = (v: number, unit: string) => (Number.isFinite(v) ? `${fmtMs(v)} ${unit}` : "FAILED");
  printTable([
    ["figure", "value", "floor (measured in the same run)", "value / floor", "target", "met"],
    ...figures.map((f) => [
      f.figure,
      num(f.value, f.unit) + (f.note ? ` (${f.note})` : ""),
      `${num(f.floor, f.unit)} ${f.floorWhat}`,
      Number.isFinite(f.value / f.floor) ? `${(f.value / f.floor).toFixed(2)}×` : "-",
      f.target,
      f.met === undefined ? "-" : f.met ? "yes" : "NO",
    ]),
  ]);
}

/** Prints rows as an aligned table; the first row is the header. */
export function printTable(rows: readonly (readonly string[])[], separator = " | "): void {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join(separator)
        .trimEnd(),
    );
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export const fmtMs = (ms: number, digits = 1): string => (Number.isFinite(ms) ? ms.toFixed(digits) : "-");

/** True when the module at `moduleUrl` (its import.meta.url) is the script node was started with. */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return fs.realpathSync(entry) === fs.realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Runs a benchmark as a standalone script: its own tables are printed by `run`; exit 1 if it failed. */
export async function runStandalone(run: () => Promise<BenchOutcome>): Promise<void> {
  const outcome = await run();
  if (!outcome.ok) process.exitCode = 1;
}

export const progressOf =
  (bench: string) =>
  (msg: string): void =>
    void process.stderr.write(`${bench} bench: ${msg}\n`);

/** The largest of `xs`; NaN when there is none. */
export const maxOf = (xs: readonly number[]): number => (xs.length ? Math.max(...xs) : NaN);
