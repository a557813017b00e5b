import * as path from "node:path";
import { SupervisordController } from "../controller/supervisord/controller.js";
import type { ManagerCommand } from "../controller/supervisord/config-file.js";
import type { ConfigSource, ManagerApi } from "./api.js";
import { ConfigStore, type ConfigVersion } from "./config-store.js";
import { GaveUp } from "./errors.js";
import { KresManager } from "./kres-manager.js";
import { refuseFixedChanges } from "./runtime-limits.js";
import { RunningState } from "./running-state.js";
import { ConfigFiles } from "./persistence.js";
import { structuralEtag } from "../utils/etag.js";
import { TlsWatchdog } from "./tls-watchdog.js";
import { History, historyRecorder, recordStart } from "./history.js";
import type { ManagementConfig } from "../datamodel/sections/management/schema.js";
import { readTokenFile, tokenFileWarning } from "../datamodel/sections/management/token.js";
import { accessPolicyOf, exposureWarning } from "./access.js";
import { ApiServer, createApp } from "./server.js";
import { ManagerService } from "./service.js";
import { configureLogging, logger } from "./logger.js";
import { stopLeftovers } from "./orphans.js";
import type { Fleet } from "./fleet/index.js";

/**
 * The manager as supervisord runs it (`command`, started by the supervisord `supervisordPid` on
 * the rundir): resume or take the files' config, start or adopt the workers, open the API, then
 * report ready. Loaded by startUp() only in that run.
 */
export async function runManager(
  files: readonly string[],
  initial: ConfigVersion,
  supervisordPid: number,
  command: ManagerCommand,
): Promise<KresManager> {
  const rundir = initial.config.rundir;
  // Started by our supervisord: after a manager restart, the config the previous manager ran
  // (API changes included) goes on; the files count only when there is none to resume.
  const saved = new RunningState(rundir, supervisordPid);
  const { version, source } = resumeOrFiles(saved, files, initial);
  configureLogging(version.config);

  logger.info(`manager (pid ${process.pid}) has read its configuration; starting the workers`);
  const controller = new SupervisordController(rundir, command);
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
  const history = openHistory(store, source.from === "resumed");
  if (typeof history !== "string") store.addRecorder(historyRecorder(history));
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
  // API changes persist into the files (on request, or by management.persist) once the workers run them.
  // What the files said at start (`initial` is always theirs, resumed or not).
  const configFiles = new ConfigFiles(files, structuralEtag(initial.document));
  store.setPersister(
    (before, next) => configFiles.stage(before, next),
    (s) => !configFiles.unpersisted(s),
  );
  const api = new ManagerService(
    store,
    manager,
    files,
    () => controller.shutdown(),
    source,
    configFiles,
    history,
  );
  const { server, where } = await openApi(api, version.config.management).catch((e: Error) =>
    giveUp(`cannot open the management API: ${e.message}`),
  );

  // A fleet node joins once it serves DNS on its own files: etcd being away never holds start-up.
  const fleetConfig = version.config.fleet;
  // Loaded only here: the etcd client (gRPC) costs start-up time and memory a lone resolver saves.
  const fleet: Fleet | undefined = fleetConfig
    ? new (await import("./fleet/index.js")).Fleet({ config: fleetConfig, files, store, manager, api: where })
    : undefined;
  api.fleet = fleet;

  await controller.notifyReady(process.pid);
  logger.notice(
    `knot-resolver is ready: ${version.config.workers} kresd worker(s) on ${rundir}, API on ${where}`,
  );
  fleet?.start();
  installSignalHandlers(api, server, async () => {
    await fleet?.stop();
    tlsWatchdog.stop();
    manager.stop();
  });
  return manager;
}

/**
 * The history in `history.storage`, with the starting config recorded; or, when the directory cannot
 * be used, why not: logged, and the manager runs without a history (it never refuses a start).
 */
function openHistory(store: ConfigStore, resumed: boolean): History | string {
  const dir = store.snapshot.config.history.storage;
  try {
    const history = History.open(dir, () => store.snapshot.config.history.keep);
    recordStart(history, store.snapshot, resumed);
    return history;
  } catch (e) {
    const reason = `cannot use ${dir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
    logger.error(`history: ${reason}; configurations are not recorded until the manager restarts`);
    return reason;
  }
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

function installSignalHandlers(api: ManagerApi, server: ApiServer, stopManager: () => Promise<void>): void {
  const leave = (signal: string) => {
    logger.notice(`received ${signal}, stopping the manager (supervisord stops the workers)`);
    server.close();
    // The fleet's lease is revoked on the way (its state key goes at once); never longer than 2 s.
    void Promise.race([stopManager(), new Promise((r) => setTimeout(r, 2000))]).finally(() =>
      process.exit(0),
    );
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
