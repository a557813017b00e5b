/**
 * The safety net of the harness, for tests and benchmarks alike. Everything started (process
 * groups) or created (temporary directories) through the harness is registered here and removed in
 * one afterAll hook of the test file, or by a process 'exit' handler outside jest (the benchmarks,
 * where SIGINT and SIGTERM run that handler too).
 *
 * Inside jest that handler never runs: a test file sees a copy of `process` whose events are its own.
 * So each process group is also recorded as a file in PROC_DIR ($KRM_TEST_PROC_DIR from scripts/test),
 * and a small watchdog shell per jest worker kills the groups the worker recorded once the worker is
 * gone (crashed, killed, or exited without its hooks); scripts/test also reaps PROC_DIR after jest.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

interface Stoppable {
  /** Stops the process group and waits for it. */
  stop(): Promise<unknown>;
  /** Last resort, synchronous: SIGKILL to the group. */
  killNow(): void;
}

const processes = new Set<Stoppable>();
const dirs = new Set<string>();

export const PROC_DIR = process.env.KRM_TEST_PROC_DIR ?? path.join(os.tmpdir(), "krm-test-procs");

/** Whether temporary directories are kept for inspection (KRM_KEEP_TMP=1). */
const keepTmp = process.env.KRM_KEEP_TMP === "1";

export function registerProcess(p: Stoppable): void {
  processes.add(p);
}

export function unregisterProcess(p: Stoppable): void {
  processes.delete(p);
}

export function registerDir(dir: string): void {
  dirs.add(dir);
}

/** Start time of a process in clock ticks (field 22 of /proc/PID/stat), to recognize PID reuse. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

// Waits for the owner process ($1, start time $2) to go, then SIGKILLs the process groups it recorded
// in $3 (files "PGID START OWNER COMMAND") that are still the same processes (same start time).
const WATCHDOG = `
start_of() { s=$(cat /proc/$1/stat 2>/dev/null) || return 1; set -- \${s##*) }; eval echo \\\${20}; }
while [ "$(start_of $1)" = "$2" ]; do sleep 1; done
for f in "$3"/*; do
  [ -f "$f" ] || continue
  read -r pid start owner rest < "$f" || continue
  [ "$owner" = "$1" ] || continue
  [ "$(start_of $pid)" = "$start" ] && kill -KILL -$pid 2>/dev/null
  rm -f "$f"
done
rm -f "$3/watchdog-$1"
`;

/** Starts this process's watchdog unless it runs already (one per process, across test files). */
function ensureWatchdog(): void {
  const marker = path.join(PROC_DIR, `watchdog-${process.pid}`);
  try {
    const pid = Number(fs.readFileSync(marker, "utf8"));
    process.kill(pid, 0);
    return;
  } catch {
    // No marker, or its watchdog is gone.
  }
  const child = spawn(
    "/bin/sh",
    [
      "-c",
      WATCHDOG,
      "krm-test-watchdog",
      String(process.pid),
      processStartTime(process.pid) ?? "?",
      PROC_DIR,
    ],
    { detached: true, stdio: "ignore" },
  );
  child.unref();
  fs.writeFileSync(marker, String(child.pid));
}

/** Records a process group for the watchdog and scripts/test; returns a function removing the record. */
export function recordGroup(pid: number, command: string): () => void {
  const file = path.join(PROC_DIR, String(pid));
  try {
    fs.mkdirSync(PROC_DIR, { recursive: true });
    ensureWatchdog();
    fs.writeFileSync(file, `${pid} ${processStartTime(pid) ?? "?"} ${process.pid} ${command}\n`);
  } catch {
    // Best effort: the afterAll hook still stops the process.
  }
  return () => fs.rmSync(file, { force: true });
}

function removeDirs(): void {
  if (keepTmp) {
    for (const d of dirs) process.stderr.write(`KRM_KEEP_TMP: kept ${d}\n`);
  } else {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
  dirs.clear();
}

/** Stops every registered process group and removes the temporary directories. */
export async function cleanupAll(): Promise<void> {
  await Promise.allSettled([...processes].map((p) => p.stop()));
  processes.clear();
  removeDirs();
}

/**
 * Runs `fn` (synchronous, best effort) when the process exits or is interrupted, or after the test
 * file, unless the returned function is called first: for what a benchmark removes itself when all
 * goes well (a directory, a helper process).
 */
export function onExitCleanup(fn: () => void): () => void {
  const entry: Stoppable = { stop: async () => fn(), killNow: fn };
  registerProcess(entry);
  return () => unregisterProcess(entry);
}

function onExit(): void {
  for (const p of processes) {
    try {
      p.killNow();
    } catch {
      // best effort at exit: the others still get their turn
    }
  }
  processes.clear();
  removeDirs();
}

process.on("exit", onExit);

// Read from globalThis: the benchmarks run this module outside jest, compiled without jest's types.
const jestAfterAll = (globalThis as { afterAll?: (fn: () => Promise<void>) => void }).afterAll;
if (typeof jestAfterAll === "function") {
  jestAfterAll(async () => {
    await cleanupAll();
    process.removeListener("exit", onExit);
  });
} else {
  // A benchmark interrupted by ^C or a kill: the exit handler does not run on a signal by itself.
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.once(sig, () => {
      onExit();
      process.exit(130);
    });
  }
}
