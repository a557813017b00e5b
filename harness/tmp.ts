import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { registerDir } from "./cleanup.js";

/**
 * A new empty directory under the system temp dir, removed after the test file (afterAll) or when
 * the worker exits. KRM_KEEP_TMP=1 keeps it and prints its path.
 */
export function tmpDir(prefix = "krm-test-"): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  registerDir(dir);
  return dir;
}
