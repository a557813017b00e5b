/**
 * Every benchmark in turn, each printing its own tables, then a summary of their headline figures.
 * Not a test: exits non-zero only when a benchmark's run itself failed.
 * Run: npm run build && npm run bench (or node dist/bench/all.js; BENCH_ONLY=name,… for some of them)
 */
import * as os from "node:os";
import * as apply from "./apply.js";
import * as dashboard from "./dashboard.js";
import * as faults from "./faults.js";
import * as fleet from "./fleet.js";
import * as liveness from "./liveness.js";
import * as memory from "./memory.js";
import * as metrics from "./metrics.js";
import * as orphans from "./orphans.js";
import { fmtMs, printFloorTable, printTable, type BenchOutcome } from "../harness/report.js";
import * as startup from "./startup.js";
import * as tlsWatchdog from "./tls-watchdog.js";
import * as validation from "./validation.js";
import * as zeroLoss from "./zero-loss.js";

const BENCHES: [string, () => Promise<BenchOutcome>][] = [
  ["validation", validation.run],
  ["apply", apply.run],
  ["metrics", metrics.run],
  ["startup", startup.run],
  ["memory", memory.run],
  ["zero-loss", zeroLoss.run],
  ["faults", faults.run],
  ["orphans", orphans.run],
  ["tls-watchdog", tlsWatchdog.run],
  ["liveness", liveness.run],
  ["dashboard", dashboard.run],
  ["fleet", fleet.run],
];

// BENCH_ONLY=startup,apply,memory,metrics runs those only (e.g. the figures of the floor table).
const only = process.env.BENCH_ONLY?.split(",").map((n) => n.trim());
const results: { name: string; seconds: number; outcome: BenchOutcome }[] = [];
for (const [name, run] of BENCHES) {
  if (only && !only.includes(name)) continue;
  console.log(`\n=== ${name} ===`);
  const start = performance.now();
  let outcome: BenchOutcome;
  try {
    outcome = await run();
  } catch (e) {
    console.log(`${name}: the run failed: ${(e as Error).stack ?? (e as Error).message}`);
    outcome = { ok: false, headlines: [{ figure: name, value: "FAILED" }] };
  }
  results.push({ name, seconds: (performance.now() - start) / 1000, outcome });
}

console.log("\n=== summary ===");
const rows: string[][] = [["benchmark", "figure", "value"]];
for (const { name, seconds, outcome } of results) {
  for (const h of outcome.headlines) rows.push([name, h.figure, h.value]);
  rows.push([name, "run", `${outcome.ok ? "ok" : "FAILED"} in ${fmtMs(seconds, 0)} s`]);
}
printTable(rows);

// Issue 17's figures, each beside the floor it stands on (measured in the same run); the README
// carries the latest of this table.
console.log(
  `\n=== against the floors (load average ${os
    .loadavg()
    .map((l) => l.toFixed(1))
    .join(" ")}, ${os.cpus().length} CPUs) ===`,
);
printFloorTable(results.flatMap((r) => r.outcome.figures ?? []));
if (results.some((r) => !r.outcome.ok)) process.exitCode = 1;
