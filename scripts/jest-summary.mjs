// Usage: node scripts/jest-summary.mjs RESULTS.json JEST_EXIT_CODE
// Prints "N passed, N failed" (+ ", N skipped") from jest's --json results; exits 1 unless all passed.
// A test file that failed without a failing test (it did not load, or a hook failed) counts as one
// failed test, and so does a jest run that failed with no test failing (e.g. no test matched).
import { readFileSync } from "node:fs";

const [file, rcArg] = process.argv.slice(2);
const jestRc = Number(rcArg ?? 1);

let results;
try {
  results = JSON.parse(readFileSync(file, "utf8"));
} catch {
  console.error(`jest-summary: jest wrote no results (exit code ${jestRc})`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

const passed = results.numPassedTests ?? 0;
let failed = results.numFailedTests ?? 0;
const skipped = (results.numPendingTests ?? 0) + (results.numTodoTests ?? 0);

for (const suite of results.testResults ?? []) {
  const failedTests = (suite.assertionResults ?? []).filter((a) => a.status === "failed").length;
  if (suite.status === "failed" && failedTests === 0) {
    console.error(`jest-summary: ${suite.name} failed outside its tests (counted as 1 failed)`);
    failed += 1;
  }
}
if (jestRc !== 0 && failed === 0) {
  console.error(`jest-summary: jest exited with ${jestRc} although no test failed (counted as 1 failed)`);
  failed = 1;
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exit(failed === 0 && jestRc === 0 ? 0 : 1);
