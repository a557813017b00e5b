/**
 * How long validating and rendering a config takes (the API will do both on every change).
 * Prints a table; not a test. Run: npm run build && node dist/bench/validation.js
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseConfigText, validateConfig } from "../lib/datamodel/load.js";
import { renderWorkerLua } from "../lib/datamodel/lua/index.js";
import { configJsonSchema } from "../lib/datamodel/json-schema.js";
import { projectRoot } from "../lib/utils/paths.js";

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

const dir = path.join(projectRoot(), "etc/config");
const rows: string[][] = [["config", "parse YAML µs", "validate µs", "render Lua µs", "Lua bytes"]];
for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"))) {
  const text = fs.readFileSync(path.join(dir, file), "utf8");
  const data = parseConfigText(text);
  const ctx = { strict: false, baseDir: dir };
  const cfg = validateConfig(data, ctx);
  rows.push([
    file,
    timeIt(() => parseConfigText(text)).perOpUs.toFixed(1),
    timeIt(() => validateConfig(data, ctx)).perOpUs.toFixed(1),
    timeIt(() => renderWorkerLua(cfg)).perOpUs.toFixed(1),
    String(renderWorkerLua(cfg).length),
  ]);
}
rows.push(["JSON Schema export", "", timeIt(() => configJsonSchema()).perOpUs.toFixed(1), "", ""]);

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
for (const r of rows) console.log(r.map((c, i) => c.padEnd(widths[i]!)).join("  "));
