import * as path from "node:path";
import { fileURLToPath } from "node:url";
import type { KresConfig } from "../datamodel/config.js";
import { loadConfigFiles } from "../datamodel/load.js";
import { SupervisordController } from "../controller/supervisord/controller.js";
import { renderSupervisordConf, type ManagerCommand } from "../controller/supervisord/config-file.js";
import {
  inspectRundir,
  supervisordExecArgv,
  writeSupervisordConf,
} from "../controller/supervisord/startup.js";
import { applySupervisordConf } from "../controller/supervisord/reload.js";
import { KresManager } from "./kres-manager.js";
import { configureLogging, logger } from "./logger.js";

/** Refusal to start, with the reason for the operator. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StartupError";
  }
}

/** The manager gave up and said why in the log; nothing more to report. */
export class GaveUp extends Error {
  constructor(message: string) {
    super(message);
    this.name = "GaveUp";
  }
}

/** How supervisord runs the manager again: this very node script with the same config files. */
export function managerCommand(files: readonly string[]): ManagerCommand {
  const main = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "main.js");
  const inspect = process.execArgv.filter((a) => a.startsWith("--inspect"));
  return {
    argv: [process.execPath, ...inspect, main, ...files.flatMap((f) => ["-c", path.resolve(f)])],
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
export async function startUp(files: readonly string[], config: KresConfig): Promise<StartupOutcome> {
  configureLogging(config);
  const rundir = config.rundir;
  const state = await inspectRundir(rundir);
  const conf = renderSupervisordConf(config, managerCommand(files));
  if (state.kind === "free") {
    writeSupervisordConf(rundir, conf);
    return { kind: "exec", argv: supervisordExecArgv(rundir) };
  }
  if (state.pid !== process.ppid) {
    throw new StartupError(
      `another knot-resolver is already running on ${rundir} (supervisord pid ${state.pid}); stop it first`,
    );
  }

  const controller = new SupervisordController(rundir);
  if (writeSupervisordConf(rundir, conf)) {
    logger.notice("supervisord configuration changed, reloading it");
    await applySupervisordConf(controller.rpc);
  }
  const manager = new KresManager(controller, config);
  try {
    await manager.start();
  } catch (e) {
    // Workers that cannot start now will not start on a retry of the same config: give up
    // at once (supervisord stops everything and exits 1) instead of restarting the manager.
    const reason = `cannot start the workers: ${(e as Error).message}`;
    logger.crit(reason);
    manager.stop();
    await controller.fatal(reason);
    throw new GaveUp(reason);
  }
  await controller.notifyReady(process.pid);
  logger.notice(`knot-resolver is ready: ${config.workers} kresd worker(s) on ${rundir}`);
  installSignalHandlers(files, manager);
  return { kind: "running", manager };
}

function installSignalHandlers(files: readonly string[], manager: KresManager): void {
  const leave = (signal: string) => {
    logger.notice(`received ${signal}, stopping the manager (supervisord stops the workers)`);
    manager.stop();
    process.exit(0);
  };
  process.on("SIGTERM", () => leave("SIGTERM"));
  process.on("SIGINT", () => leave("SIGINT"));
  process.on("SIGHUP", () => {
    // Applying a new config at run time comes with the config-change pipeline; check it now.
    try {
      loadConfigFiles(files);
      logger.notice(
        `reload requested (SIGHUP): ${files.join(", ")} is valid; applying changes is not implemented yet`,
      );
    } catch (e) {
      logger.error(`reload requested (SIGHUP), but the configuration is invalid: ${(e as Error).message}`);
    }
  });
}
