/**
 * How long validating and rendering a config takes (the API will do both on every change), and how
 * the time to check one hostile value grows with its length (it must grow linearly: issue 16).
 * Prints tables; not a test. Run: npm run build && node dist/bench/validation.js
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseConfigText, validateConfig } from "../lib/datamodel/load.js";
import { renderWorkerLua } from "../lib/datamodel/worker-lua.js";
import { domainName, idPattern, interfaceName } from "../lib/datamodel/types/index.js";
import { configJsonSchema } from "../lib/datamodel/json-schema.js";
import { projectRoot } from "../lib/utils/paths.js";
import { isMain, median, printTable, runStandalone, type BenchOutcome } from "../harness/report.js";

function timeIt(fn: () => void, minMs = 500): { perOpUs: number; runs: number } {
  for (let i = 0; i < 20; i++) fn(); // warm-up
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    runs++;
  }
  return { perOpUs: ((performance.now() - start) * 1000) / runs, runs };
}

/** Median µs of one call over at least `minMs` (and 5 calls); for calls from microseconds to seconds. */
function medianUs(fn: () => void, minMs = 100): number {
  fn(); // warm-up
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 5 || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    times.push((performance.now() - t0) * 1000);
  }
  return median(times);
}

const LENGTHS = [16, 32, 64, 1000, 20_000, 200_000];

/**
 * Hostile values (a long run of allowed characters, then one that breaks the rule: what makes a
 * backtracking pattern try every split of the run) and the µs their check takes per length. The
 * figures should grow about tenfold from 1000 to 20 000 and from 20 000 to 200 000, not a
 * hundredfold. Upstream's tag pattern is timed beside ours for comparison (up to 20 000 characters).
 */
function hostileInputs(): { rows: string[][]; us20k: number[] } {
  // Upstream's IDPattern, quadratic on purpose here: the figure to compare ours with.
  // eslint-disable-next-line regexp/no-super-linear-backtracking
  const upstreamId = new RegExp("^(?!-)[a-z0-9-]*[a-z0-9]+$");
  type Case = [name: string, make: (n: number) => string, check: (v: string) => unknown, maxLength?: number];
  const cases: Case[] = [
    ["domain name: letters + ' '", (n) => "a".repeat(n - 1) + " ", (v) => domainName.safeParse(v)],
    ["domain name: 'a.' pairs + '-'", (n) => "a.".repeat((n - 1) >> 1) + "-", (v) => domainName.safeParse(v)],
    ["tag: letters + '-'", (n) => "a".repeat(n - 1) + "-", (v) => idPattern.safeParse(v)],
    ["tag, upstream's pattern", (n) => "a".repeat(n - 1) + "-", (v) => upstreamId.test(v), 20_000],
    ["interface name: letters + '!'", (n) => "a".repeat(n - 1) + "!", (v) => interfaceName.safeParse(v)],
  ];
  const rows: string[][] = [["hostile value (µs per check)", ...LENGTHS.map((n) => `${n} ch`)]];
  const us20k: number[] = [];
  for (const [name, make, check, maxLength = Infinity] of cases) {
    const row = [name];
    for (const n of LENGTHS) {
      if (n > maxLength) {
        row.push("-");
        continue;
      }
      const v = make(n);
      const us = medianUs(() => check(v));
      if (n === 20_000 && maxLength === Infinity) us20k.push(us);
      row.push(us.toFixed(us < 10 ? 2 : 0));
    }
    rows.push(row);
  }
  return { rows, us20k };
}

export async function run(): Promise<BenchOutcome> {
  const dir = path.join(projectRoot(), "etc/config");
  const rows: string[][] = [["config", "parse YAML µs", "validate µs", "render Lua µs", "Lua bytes"]];
  let validateMax = 0;
  let renderMax = 0;
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
    const text = fs.readFileSync(path.join(dir, file), "utf8");
    const data = parseConfigText(text);
    const ctx = { strict: false, baseDir: dir };
    const cfg = validateConfig(data, ctx);
    const validateUs = timeIt(() => validateConfig(data, ctx)).perOpUs;
    const renderUs = timeIt(() => renderWorkerLua(cfg)).perOpUs;
    validateMax = Math.max(validateMax, validateUs);
    renderMax = Math.max(renderMax, renderUs);
    rows.push([
      file,
      timeIt(() => parseConfigText(text)).perOpUs.toFixed(1),
      validateUs.toFixed(1),
      renderUs.toFixed(1),
      String(renderWorkerLua(cfg).length),
    ]);
  }
  const schemaUs = timeIt(() => configJsonSchema()).perOpUs;
  rows.push(["JSON Schema export", "", schemaUs.toFixed(1), "", ""]);
  printTable(rows, "  ");
  console.log("");
  const hostile = hostileInputs();
  printTable(hostile.rows, "  ");
  return {
    ok: true,
    headlines: [
      {
        figure: `validation: validate / render Lua µs, slowest of ${rows.length - 2} example configs`,
        value: `${validateMax.toFixed(1)} / ${renderMax.toFixed(1)}`,
      },
      { figure: "validation: JSON Schema export µs", value: schemaUs.toFixed(1) },
      {
        figure: "validation: slowest check of a hostile 20 000-character value µs",
        value: Math.max(...hostile.us20k).toFixed(0),
      },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
