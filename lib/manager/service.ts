import { configJsonSchema } from "../datamodel/json-schema.js";
import { loadConfigFiles, validateAsFrom } from "../datamodel/load.js";
import { checkPreconditions, structuralEtag, type Preconditions } from "../utils/etag.js";
import { applyJsonPatch, parseJsonPatch } from "../utils/json-patch.js";
import { deleteAt, getAt, hasAt, setAt } from "../utils/json-pointer.js";
import { mergePatch } from "../utils/merge-patch.js";
import { checkBounds, ExpandsTooLarge, NestingTooDeep, TooManyValues } from "../utils/parsing.js";
import { packageVersion } from "../utils/version.js";
import type {
  ConfigOperation,
  ConfigSource,
  LiveFeed,
  ManagerApi,
  ProcessFilter,
  ProcessRow,
  Status,
} from "./api.js";
import type { ChangeOptions, ConfigStore, ConfigVersion, Snapshot } from "./config-store.js";
import type { ChangePlan, DryRunMode } from "../datamodel/change-plan.js";
import { changePlan } from "./dry-run.js";
import { clearCache } from "./cache-clear.js";
import { ChangeRefused, HistoryEntryNotFound, HistoryUnavailable, NotInFleet } from "./errors.js";
import type { Fleet } from "./fleet/index.js";
import type { FleetApplyResult, FleetHistoryRow, FleetStatus } from "./fleet/types.js";
import type { History, HistoryEntryWithConfig, HistoryPage } from "./history.js";
import type { ConfigFiles } from "./persistence.js";
import type { CacheClearResult } from "../datamodel/cache-clear/schema.js";
import type { KresManager, ManagedProcess } from "./kres-manager.js";
import { logger } from "./logger.js";
import { WorkerMetrics, type MetricsJson } from "./metrics/index.js";
import { LiveStatistics } from "./metrics/live.js";

/**
 * The edited document, if it is within what a request body may stand for (lib/utils/parsing.ts):
 * each body is, but many changes that each add a little (PUT …/-) could grow it without end.
 */
function bounded(doc: unknown, pointer: string): unknown {
  try {
    checkBounds(doc);
  } catch (e) {
    if (e instanceof ExpandsTooLarge) throw new ExpandsTooLarge("the configuration after this change");
    if (e instanceof TooManyValues || e instanceof NestingTooDeep)
      throw new ChangeRefused(`the configuration after this change would be too large: ${e.message}`, [
        { pointer, message: e.message },
      ]);
    throw e;
  }
  return doc;
}

/** The management API (see ManagerApi) done with the config store and the manager's processes. */
export class ManagerService implements ManagerApi {
  private schema: Record<string, unknown> | undefined;
  private workerMetrics: WorkerMetrics | undefined;
  private live: LiveStatistics | undefined;

  constructor(
    private readonly store: ConfigStore,
    private readonly manager: KresManager,
    /** The files the config came from, re-read on reload. */
    private readonly files: readonly string[],
    /** Stops everything (supervisord and all it runs). */
    private readonly shutdown: () => Promise<void>,
    /** Where the config came from when this manager started. */
    private readonly source: ConfigSource = { from: "files", files: [...files] },
    /** The config files as the place changes persist to (unset: nothing is compared or persisted). */
    private readonly configFiles?: ConfigFiles,
    /** The history of configurations, or why there is none. */
    private readonly history: History | string = "this manager keeps no history",
  ) {}

  /** The fleet this node belongs to (set once it has joined; absent without a `fleet` section). */
  fleet: Fleet | undefined;

  private inFleet(): Fleet {
    if (!this.fleet)
      throw new NotInFleet("this resolver is in no fleet (its configuration has no 'fleet' section)");
    return this.fleet;
  }

  fleetStatus(): Promise<FleetStatus> {
    return this.inFleet().status();
  }

  fleetApply(text: string, dryRun: boolean, source: string): Promise<FleetApplyResult> {
    return this.inFleet().apply(text, dryRun, source);
  }

  fleetRollback(revision: number | undefined, source: string): Promise<FleetApplyResult> {
    return this.inFleet().rollback(revision, source);
  }

  fleetHistory(): Promise<FleetHistoryRow[]> {
    return this.inFleet().history();
  }

  status(): Status {
    const s = this.store.snapshot;
    const last = this.store.lastChange;
    const rollback = this.store.lastRollback;
    const unpersisted = this.fleet?.accountsFor(s.etag) ? false : this.configFiles?.unpersisted(s);
    return {
      status: "RUNNING",
      version: packageVersion(),
      pid: process.pid,
      workers: s.config.workers,
      etag: s.etag,
      "config-source": this.source,
      ...(unpersisted !== undefined ? { "unpersisted-changes": unpersisted } : {}),
      ...(last ? { "last-change": last } : {}),
      ...(rollback ? { "last-rollback": rollback } : {}),
      ...(this.fleet ? { fleet: this.fleet.summary() } : {}),
    };
  }

  /** The value at pointer in the current config; JsonPointerError when there is none. */
  getConfig(pointer: string): { value: unknown; etag: string } {
    const s = this.store.snapshot;
    return { value: getAt(s.document, pointer), etag: s.etag };
  }

  get etag(): string {
    return this.store.snapshot.etag;
  }

  /**
   * Changes the config at pointer and waits until the workers run it. Returns the new value at
   * pointer (undefined when there is none) and the new ETag.
   */
  async changeConfig(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ value: unknown; etag: string; changed: boolean }> {
    const outcome = await this.store.change(this.proposal(op, pointer, body, conditions), {
      source,
      persist: (current) => persist ?? current.config.management.persist === true,
    });
    const doc = outcome.snapshot.document;
    return {
      // After a delete the pointer may name the next array item: the answer is about what was removed.
      value: op !== "delete" && hasAt(doc, pointer) ? getAt(doc, pointer) : undefined,
      etag: outcome.snapshot.etag,
      changed: outcome.changed,
    };
  }

  /** What changeConfig() would do, done by nothing: its checks, then the plan (see ChangePlan). */
  async planChange(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan> {
    return this.plan(this.proposal(op, pointer, body, conditions), { source }, mode);
  }

  /**
   * The plan of replacing the whole document by `document` (a history restore's dry run): the
   * checks of `PUT /v1/config`, If-Match included.
   */
  planReplacement(
    document: unknown,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan> {
    return this.planChange("put", "", document, conditions, mode, source);
  }

  /**
   * The next config a change proposes, at its turn: If-Match/If-None-Match against the config it
   * would replace, the edit, the bounds, validation; each throws to refuse.
   */
  private proposal(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
  ): (current: Snapshot) => ConfigVersion {
    // A malformed patch is refused at once, not after waiting for its turn.
    if (op === "json-patch") parseJsonPatch(body);
    const edit = (doc: unknown): unknown => {
      switch (op) {
        case "put":
          return setAt(doc, pointer, body);
        case "merge-patch":
          return setAt(doc, pointer, mergePatch(getAt(doc, pointer), body));
        case "json-patch":
          return applyJsonPatch(doc, body, pointer);
        case "delete":
          return deleteAt(doc, pointer);
      }
    };
    return (current) => {
      checkPreconditions(current.etag, conditions, "change");
      return this.validate(bounded(edit(current.document), pointer));
    };
  }

  /** The config store's plan of a change, with what the manager would do to the processes. */
  private plan(
    propose: (current: Snapshot) => ConfigVersion,
    options: ChangeOptions,
    mode: DryRunMode,
  ): Promise<ChangePlan> {
    return this.store.plan(propose, options, async (before, next, applies) => {
      const workers = await this.manager.plan(next.config, {
        force: options.force,
        changes: applies,
        canary: mode === "canary",
      });
      const plan = changePlan(mode, before, next, applies, workers);
      logger.info(
        `${options.source}: dry run: ${plan.changed ? `ETag ${plan["new-etag"]}` : "unchanged"}, ` +
          `restart ${plan.processes.restart.length}, start ${plan.processes.start.length}, stop ${plan.processes.stop.length}` +
          (plan.canary ? `, canary ${plan.canary.ok ? "came up" : "failed"}` : ""),
      );
      return plan;
    });
  }

  listHistory(limit: number | undefined, before: string | undefined): HistoryPage {
    return this.kept().list(limit, before);
  }

  historyEntry(etag: string): HistoryEntryWithConfig {
    const entry = this.kept().find(etag);
    if (!entry) throw new HistoryEntryNotFound(`no history entry has the ETag ${JSON.stringify(etag)}`);
    return entry;
  }

  /** The config of a history entry, applied as a PUT of the whole config would be. */
  async restoreHistory(
    etag: string,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ etag: string; "restored-from": string; changed: boolean }> {
    const entry = this.historyEntry(etag);
    // The checks of a PUT of the whole config (planReplacement makes the same proposal).
    const outcome = await this.store.change(this.proposal("put", "", entry.config, conditions), {
      source,
      kind: "restore",
      reason: `restored from history entry ${entry.id}`,
      persist: persistOf(persist),
    });
    return { etag: outcome.snapshot.etag, "restored-from": entry.id, changed: outcome.changed };
  }

  /** What restoreHistory() would do, done by nothing. */
  planRestore(
    etag: string,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan> {
    return this.planReplacement(this.historyEntry(etag).config, conditions, mode, source);
  }

  private kept(): History {
    if (typeof this.history === "string") throw new HistoryUnavailable(`no history: ${this.history}`);
    return this.history;
  }

  /** Re-reads the config files; applies them if they differ from the running config (or always, forced). */
  async reload(force: boolean, source: string): Promise<{ changed: boolean; etag: string }> {
    let read: string | undefined;
    const outcome = await this.store.change(
      (current) => {
        const files = this.readFiles();
        read = files.filesEtag;
        if (
          !this.fleet?.accountsFor(current.etag) &&
          this.configFiles?.unpersisted(current) &&
          read !== current.etag
        )
          logger.warning(
            `${source}: the running configuration has changes made without persisting that ${this.files.join(", ")} lack; reloading replaces it, dropping them`,
          );
        return files;
      },
      { force, source, kind: source === "SIGHUP" ? "sighup" : "reload" },
    );
    if (read !== undefined) this.configFiles?.markRead(read);
    if (outcome.changed) logger.notice(`${source}: configuration from ${this.files.join(", ")} applied`);
    else logger.notice(`${source}: ${this.files.join(", ")} unchanged, nothing to do`);
    return { changed: outcome.changed, etag: outcome.snapshot.etag };
  }

  /** What reload() would do, done by nothing: the files read and checked, then the plan. */
  async planReload(force: boolean, mode: DryRunMode, source: string): Promise<ChangePlan> {
    return this.plan(() => this.readFiles(), { force, source }, mode);
  }

  /**
   * The config files as they are now, validated; on a fleet node with the fleet document it applied
   * on top (a reload keeps it). `filesEtag`: the files' own document's.
   */
  private readFiles(): ConfigVersion & { filesEtag: string } {
    const { raw, config } = loadConfigFiles(this.files);
    const filesEtag = structuralEtag(raw);
    const document = this.fleet ? this.fleet.overlay(raw) : raw;
    return { document, config: document === raw ? config : validateAsFrom(this.files, document), filesEtag };
  }

  /**
   * Applies the running config again, re-checked against the file system: brings the processes in
   * line with it; forced, restarts every worker (so they re-read certificates, RPZ and other files).
   */
  async renew(force: boolean, source: string): Promise<{ etag: string }> {
    const outcome = await this.store.change((current) => this.validate(current.document), {
      force,
      reapply: true,
      source,
    });
    return { etag: outcome.snapshot.etag };
  }

  /** Asks supervisord to stop everything, the manager included, a moment from now. */
  stop(): void {
    logger.notice("stop requested through the API");
    setTimeout(() => {
      this.shutdown().catch((e: Error) => logger.error(`cannot stop: ${e.message}`));
    }, 100);
  }

  jsonSchema(): Record<string, unknown> {
    this.schema ??= configJsonSchema();
    return this.schema;
  }

  async processes(filter: ProcessFilter): Promise<ProcessRow[]> {
    // The manager is one of supervisord's programs, so it is in the list too.
    return (await this.manager.processes())
      .filter((p) => p.pid !== undefined)
      .map(processRow)
      .filter((r) => filter === "all" || r.type === filter)
      .sort((a, b) => a.type.localeCompare(b.type) || a.id.localeCompare(b.id, "en", { numeric: true }));
  }

  /** Every running worker's statistics by worker ID ('kresd:kresd0', …); null for one that gave none. */
  async metricsJson(): Promise<MetricsJson> {
    return this.metrics().json();
  }

  /** The workers' statistics in the Prometheus text exposition format. */
  async metricsPrometheus(): Promise<string> {
    return this.metrics().prometheus();
  }

  /** Fed by the same collection as /metrics/prometheus; the status and processes ride along. */
  liveStatistics(): LiveFeed {
    this.live ??= new LiveStatistics({
      values: () => this.metrics().values(),
      state: async () => ({ status: this.status(), processes: await this.processes("all") }),
    });
    return this.live;
  }

  private metrics(): WorkerMetrics {
    this.workerMetrics ??= new WorkerMetrics({
      config: () => this.store.snapshot.config,
      processes: () => this.manager.processes(),
      command: (worker, lua, opts) => this.manager.command(worker, lua, opts),
    });
    return this.workerMetrics;
  }

  /**
   * Clears the cache (all of it, a subtree, a name or one RR set, as `body` says) on one running
   * worker: they share the cache. InvalidCacheClearRequest for a bad body, CacheClearFailed when no
   * worker could do it.
   */
  async clearCache(body: unknown): Promise<CacheClearResult> {
    const config = this.store.snapshot.config;
    const processes = await this.manager.processes();
    return clearCache(
      { processes, workers: config.workers, command: (w, lua, opts) => this.manager.command(w, lua, opts) },
      body,
    );
  }

  /** A document as the API edits it, validated as if it came from the config files. */
  private validate(document: unknown): ConfigVersion {
    return { document, config: validateAsFrom(this.files, document) };
  }
}

/** Whether a change persists: as asked, else as the config it changes says (`management.persist`). */
function persistOf(asked: boolean | undefined): (current: Snapshot) => boolean {
  return (current) => asked ?? current.config.management.persist === true;
}

function processRow(p: ManagedProcess): ProcessRow {
  const type = p.kind === "cache-gc" ? "gc" : p.kind;
  const status = p.unresponsive ? "unresponsive" : p.state;
  return {
    type,
    id: p.name.replace(/^kresd:/, ""),
    pid: p.pid as number,
    status,
    ...(p.startedAt > 0 ? { started: new Date(p.startedAt * 1000).toISOString() } : {}),
    ...(p.restarts !== undefined ? { restarts: p.restarts } : {}),
  };
}
