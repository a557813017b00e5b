/**
 * How long validating and rendering a config takes (the API will do both on every change).
 * Prints a table; not a test. Run: npm run build && node dist/bench/validation.js
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { parseConfigText, validateConfig } from "../lib/datamodel/load.js";
import { renderWorkerLua } from "../lib/datamodel/worker-lua.js";
import { configJsonSchema } from "../lib/datamodel/json-schema.js";
import { projectRoot } from "../lib/utils/paths.js";
import { isMain, printTable, runStandalone, type BenchOutcome } from "../harness/report.js";

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
  return {
    ok: true,
    headlines: [
      {
        figure: `validation: validate / render Lua µs, slowest of ${rows.length - 2} example configs`,
        value: `${validateMax.toFixed(1)} / ${renderMax.toFixed(1)}`,
      },
      { figure: "validation: JSON Schema export µs", value: schemaUs.toFixed(1) },
    ],
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
