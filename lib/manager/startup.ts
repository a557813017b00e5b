import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { SupervisordController } from "../controller/supervisord/controller.js";
import { renderSupervisordConf, type ManagerCommand } from "../controller/supervisord/config-file.js";
import {
  inspectRundir,
  supervisordExecArgv,
  writeSupervisordConf,
} from "../controller/supervisord/launch.js";
import type { ConfigSource, ManagerApi } from "./api.js";
import { ConfigStore, type ConfigVersion } from "./config-store.js";
import { ManagerError } from "./errors.js";
import { KresManager } from "./kres-manager.js";
import { refuseFixedChanges } from "./runtime-limits.js";
import { forgetRunningState, RunningState } from "./running-state.js";
import { TlsWatchdog } from "./tls-watchdog.js";
import type { ManagementConfig } from "../datamodel/sections/management/schema.js";
import { readTokenFile, tokenFileWarning } from "../datamodel/sections/management/token.js";
import { accessPolicyOf, exposureWarning } from "./access.js";
import { ApiServer, createApp } from "./server.js";
import { ManagerService } from "./service.js";
import { configureLogging, logger } from "./logger.js";
import { UnrepresentableSetting } from "../controller/errors.js";
import { OrphansNotStopped } from "../controller/supervisord/orphans.js";
import { stopLeftovers } from "./orphans.js";

/** Refusal to start, with the reason for the operator. */
export class StartupError extends ManagerError {}

/** The manager gave up and said why in the log; nothing more to report. */
export class GaveUp extends ManagerError {}

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
export async function startUp(files: readonly string[], initial: ConfigVersion): Promise<StartupOutcome> {
  const config = initial.config;
  configureLogging(config);
  const rundir = config.rundir;
  const state = await inspectRundir(rundir);
  let conf: string;
  try {
    conf = renderSupervisordConf(config, managerCommand(files));
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

  // Started by our supervisord: after a manager restart, the config the previous manager ran
  // (API changes included) goes on; the files count only when there is none to resume.
  const saved = new RunningState(rundir, state.pid);
  const { version, source } = resumeOrFiles(saved, files, initial);
  configureLogging(version.config);

  const controller = new SupervisordController(rundir, managerCommand(files));
  const manager = new KresManager(controller, version.config);
  const giveUp = async (reason: string): Promise<never> => {
    // What fails now will fail again on a restart of the manager with the same config: give up
    // at once (supervisord stops everything and exits 1) instead of looping.
    logger.crit(reason);
    manager.stop();
    await controller.fatal(reason);
    throw new GaveUp(reason);
  };
  try {
    await stopLeftovers(
      rundir,
      ["kresd", "cache-gc", "manager"],
      `stopping the orphaned processes of an earlier run on ${rundir} before starting the workers`,
    );
  } catch (e) {
    await giveUp(`cannot stop what an earlier run left: ${(e as Error).message}`);
  }
  try {
    await manager.start();
  } catch (e) {
    await giveUp(`cannot start the workers: ${(e as Error).message}`);
  }

  const store = new ConfigStore(version);
  // What runs now is saved before anything is answered (the API opens below), and so is every
  // later change, rollback and reload before its answer.
  if (source.from === "files") saved.save(store.snapshot, "start-up");
  store.addVerifier(refuseFixedChanges);
  store.addVerifier((_current, next) => manager.verify(next));
  store.addApplier((_current, next, options) => manager.apply(next, { force: options.force }));
  store.addApplier(async (_current, next) => configureLogging(next));
  store.addRecorder((running, change) => saved.save(running, change));
  // Last: it only follows a change the workers already run (its files, on or off).
  const tlsWatchdog = new TlsWatchdog(manager);
  store.addApplier(async (_current, next) => tlsWatchdog.update(next));
  tlsWatchdog.update(version.config);
  manager.stability = {
    stable: (cfg) => store.markStable(cfg),
    unstable: (cfg, reason) => {
      store.rollBack(cfg, reason).catch((e: Error) => logger.crit(`rollback failed: ${e.message}`));
    },
  };
  const api = new ManagerService(store, manager, files, () => controller.shutdown(), source);
  const { server, where } = await openApi(api, version.config.management).catch((e: Error) =>
    giveUp(`cannot open the management API: ${e.message}`),
  );

  await controller.notifyReady(process.pid);
  logger.notice(
    `knot-resolver is ready: ${version.config.workers} kresd worker(s) on ${rundir}, API on ${where}`,
  );
  installSignalHandlers(api, server, () => {
    tlsWatchdog.stop();
    manager.stop();
  });
  return { kind: "running", manager };
}

/**
 * The config to start with: the one saved by the manager that ran before under this supervisord,
 * if any is usable (a warning says why one is not), else the files' (`initial`).
 */
function resumeOrFiles(
  saved: RunningState,
  files: readonly string[],
  initial: ConfigVersion,
): { version: ConfigVersion; source: ConfigSource } {
  const fromFiles = { from: "files" as const, files: files.map((f) => path.resolve(f)) };
  const outcome = saved.read(files);
  switch (outcome.kind) {
    case "none":
      return { version: initial, source: fromFiles };
    case "unusable":
      logger.warning(
        `not resuming the configuration saved in ${saved.file}: ${outcome.reason}; reading the files`,
      );
      return { version: initial, source: { ...fromFiles, "not-resumed": outcome.reason } };
    case "resumed": {
      const r = outcome.resumed;
      logger.notice(
        `resuming the configuration the previous manager ran (ETag ${r.etag}, saved ${r.savedAt} after ${r.source})`,
      );
      return {
        version: r.version,
        source: { from: "resumed", etag: r.etag, "saved-at": r.savedAt, "saved-by": r.source },
      };
    }
  }
}

/**
 * The API server, listening, with its access checks. The token file is read once, here: a new
 * token takes effect when the manager restarts.
 */
async function openApi(
  api: ManagerApi,
  management: ManagementConfig,
): Promise<{ server: ApiServer; where: string }> {
  const tokenFile = management["token-file"];
  const access = accessPolicyOf(management, tokenFile ? readTokenFile(tokenFile) : undefined);
  for (const warning of [exposureWarning(access), tokenFile && tokenFileWarning(tokenFile)])
    if (warning) logger.warning(warning);
  const server = new ApiServer(createApp(api, access));
  return { server, where: await server.listen(management) };
}

function installSignalHandlers(api: ManagerApi, server: ApiServer, stopManager: () => void): void {
  const leave = (signal: string) => {
    logger.notice(`received ${signal}, stopping the manager (supervisord stops the workers)`);
    server.close();
    stopManager();
    process.exit(0);
  };
  process.on("SIGTERM", () => leave("SIGTERM"));
  process.on("SIGINT", () => leave("SIGINT"));
  // supervisord forwards its SIGHUP here (manager_integration): the same as POST /reload.
  process.on("SIGHUP", () => {
    logger.notice("received SIGHUP, reloading the configuration files");
    api.reload(false, "SIGHUP").catch((e: Error) => {
      logger.error(`reload (SIGHUP) refused, the configuration stays as it was: ${e.message}`);
    });
  });
}
