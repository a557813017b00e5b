import { execFileSync, spawn } from "node:child_process";
import * as path from "node:path";
import { projectRoot } from "../lib/utils/paths.js";

/** The checkout the tests run from (found the same way from sources and from dist/). */
export const REPO_ROOT = projectRoot();
export const KRESCTL = path.join(REPO_ROOT, "bin/kresctl");
export const KNOT_RESOLVER = path.join(REPO_ROOT, "bin/knot-resolver");

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to the command's standard input (closed right after). */
  input?: string;
  /** Killed (SIGKILL) after this long (default 30 s). */
  timeoutMs?: number;
}

/** Runs a short command to completion, collecting its output. Never rejects for a non-zero exit. */
export function run(command: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 30000);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.on("error", () => {}); // EPIPE: the command exited without reading its input
    child.stdin.end(opts.input ?? "");
  });
}

let built = false;

/**
 * Makes sure dist/ is built from the current sources (scripts/ensure-deps-lite: fast when it is),
 * for tests that run bin/kresctl or bin/knot-resolver. Call it in beforeAll (give it a minute).
 */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(path.join(REPO_ROOT, "scripts/ensure-deps-lite"), { stdio: ["ignore", "ignore", "inherit"] });
  built = true;
}
