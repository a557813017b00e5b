import * as path from "node:path";
import { renderSupervisordConf, type ManagerCommand } from "../controller/supervisord/config-file.js";
import {
  inspectRundir,
  supervisordExecArgv,
  writeSupervisordConf,
} from "../controller/supervisord/launch.js";
import type { ConfigVersion } from "./config-store.js";
import { GaveUp, StartupError } from "./errors.js";
import type { KresManager } from "./kres-manager.js";
import { configureLogging } from "./logger.js";
import { forgetRunningState } from "./running-state.js";
import { UnrepresentableSetting } from "../controller/errors.js";
import { OrphansNotStopped } from "../controller/supervisord/orphans.js";
import { stopLeftovers } from "./orphans.js";

export { GaveUp, StartupError };

/**
 * V8 settings of the supervised manager, for memory (bench/memory.ts measures them): no optimizing
 * compilers (the manager waits on sockets; its code stays small), a young generation of 1 MiB
 * semi-spaces instead of 16 (short-lived request garbage is collected early instead of piling up).
 * --no-expose-wasm: lite mode would otherwise warn that it turns WebAssembly off (nothing of ours
 * uses it).
 */
export const MANAGER_NODE_FLAGS = ["--lite-mode", "--no-expose-wasm", "--max-semi-space-size=1"];

/**
 * How supervisord runs the manager again: the same node script (`entry`, main.ts compiled or
 * bundled) with the same config files.
 */
export function managerCommand(files: readonly string[], entry: string): ManagerCommand {
  const inspect = process.execArgv.filter((a) => a.startsWith("--inspect"));
  return {
    argv: [
      process.execPath,
      ...MANAGER_NODE_FLAGS,
      ...inspect,
      entry,
      ...files.flatMap((f) => ["-c", path.resolve(f)]),
    ],
  };
}

export type StartupOutcome =
  /** Replace this process with that command (keeping the PID). */
  | { kind: "exec"; argv: string[] }
  /** We are the supervised manager; it runs until a signal. */
  | { kind: "running"; manager: KresManager };

/**
 * The start-up sequence. Without a supervisord on the rundir: write its config and ask to be
 * replaced by it. Started by that supervisord: adopt or start the workers, then report ready.
 * Anything else (another instance on the rundir) is refused before touching a file.
 */
export async function startUp(
  files: readonly string[],
  initial: ConfigVersion,
  entry: string,
): Promise<StartupOutcome> {
  const config = initial.config;
  configureLogging(config);
  const rundir = config.rundir;
  const state = await inspectRundir(rundir);
  let conf: string;
  try {
    conf = renderSupervisordConf(config, managerCommand(files, entry));
  } catch (e) {
    if (e instanceof UnrepresentableSetting)
      throw new StartupError(`cannot write supervisord's config: ${e.message}`);
    throw e;
  }
  if (state.kind === "free") {
    // What a supervisord killed with -9 left running; the workers keep answering until the new
    // manager is about to start its own (see orphans.ts).
    try {
      await stopLeftovers(
        rundir,
        ["manager", "cache-gc"],
        `processes of an earlier run on ${rundir} are still running without their supervisord (workers answer until the new ones start)`,
      );
    } catch (e) {
      if (e instanceof OrphansNotStopped)
        throw new StartupError(`cannot stop what an earlier run left: ${e.message}`);
      throw e;
    }
    try {
      forgetRunningState(rundir);
    } catch (e) {
      throw new StartupError(`cannot remove what an earlier run left in ${rundir}: ${(e as Error).message}`);
    }
    writeSupervisordConf(rundir, conf);
    return { kind: "exec", argv: supervisordExecArgv(rundir) };
  }
  if (state.pid !== process.ppid) {
    throw new StartupError(
      `another knot-resolver is already running on ${rundir} (supervisord pid ${state.pid}); stop it first`,
    );
  }

  // Only the supervised run needs the workers' orchestration and the HTTP server: the first run
  // (validate, write supervisord.conf, exec) does not load them, which saves it a good part of
  // node's start-up.
  const { runManager } = await import("./supervised.js");
  return {
    kind: "running",
    manager: await runManager(files, initial, state.pid, managerCommand(files, entry)),
  };
}
