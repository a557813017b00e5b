/**
 * What the management API can do, in the manager's terms: every route of the HTTP server
 * (server.ts) is one call here. ManagerService (service.ts) is the implementation; the server takes
 * this interface, so it can be driven against a fake.
 */
import type { CacheClearResult } from "../datamodel/cache-clear/schema.js";
import type { ChangePlan, DryRunMode } from "../datamodel/change-plan.js";
import type { Preconditions } from "../utils/etag.js";
import type { ChangeRecord, RollbackRecord } from "./config-store.js";
import type { HistoryEntryWithConfig, HistoryPage } from "./history.js";
import type { MetricsJson } from "./metrics/index.js";
import type { LiveStatistics } from "./metrics/live.js";

/** What GET /v1/stream needs of the shared live statistics. */
export type LiveFeed = Pick<LiveStatistics, "subscribe" | "backlog">;
import type { FleetApplyResult, FleetHistoryRow, FleetStatus, FleetSummary } from "./fleet/types.js";

export type { ChangePlan, DryRunMode, PlanChange, ProcessPlan } from "../datamodel/change-plan.js";
export type { HistoryEntry, HistoryEntryWithConfig, HistoryPage } from "./history.js";

/**
 * How a change edits the config at its pointer: replace the value (PUT), merge into it (RFC 7396
 * merge patch), apply operations relative to it (RFC 6902 JSON Patch), or remove it (DELETE).
 */
export type ConfigOperation = "put" | "merge-patch" | "json-patch" | "delete";

export type ProcessFilter = "all" | "kresd" | "gc";

export interface ProcessRow {
  type: "kresd" | "gc" | "manager";
  id: string;
  pid: number;
  status: string;
  /** When the process was started (ISO 8601), if supervisord says. */
  started?: string;
  /** kresd: how often the watchdog saw it end unplanned and brought it back. */
  restarts?: number;
}

/**
 * Where this manager took its configuration from when it started: the config files (a fresh start,
 * or nothing to resume, and then why not), or the one the manager before it ran (it was restarted
 * under the same supervisord), with that config's ETag, when and by which change it was saved.
 */
export type ConfigSource =
  | { from: "files"; files: string[]; "not-resumed"?: string }
  | { from: "resumed"; etag: string; "saved-at": string; "saved-by": string };

export interface Status {
  status: "RUNNING";
  version: string;
  pid: number;
  workers: number;
  etag: string;
  "config-source": ConfigSource;
  /**
   * The running config holds API changes the config files lack (made without persisting since the
   * files were last read or written): a reload would drop them. Absent without config files.
   */
  "unpersisted-changes"?: boolean;
  "last-change"?: ChangeRecord;
  "last-rollback"?: RollbackRecord;
  /** This node's place in its fleet (the `fleet` section), etcd reachable or not. */
  fleet?: FleetSummary;
}

/**
 * Knows nothing of HTTP beyond the ETag conditions the contract defines. Failures are KresErrors
 * that carry their HTTP status (lib/utils/errors.ts).
 */
export interface ManagerApi {
  status(): Status;

  /** The value at pointer in the current config and the config's ETag; JsonPointerError when there is none. */
  getConfig(pointer: string): { value: unknown; etag: string };

  /**
   * Changes the config at pointer if the conditions hold (PreconditionFailed otherwise) and waits
   * until the workers run it. Returns the new value at pointer (undefined when there is none: after
   * a delete, or a JSON Patch that removed it) and the new ETag. `source` names the change in the
   * log and in the status ("PUT /v1/config/workers"). A malformed JSON Patch is InvalidJsonPatch, one
   * that cannot apply (a failed test included) JsonPatchConflict; nothing changes then. `persist`
   * writes the change into the config files as well (default: the config's `management.persist`);
   * PersistRefused when they cannot take it (nothing changes then), PersistIncomplete when the
   * change runs but the files could not be replaced.
   */
  changeConfig(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ value: unknown; etag: string; changed: boolean }>;

  /**
   * A dry run of changeConfig(): the same checks, which throw the same errors (a failed If-Match,
   * an invalid config…), then what the change would do (ChangePlan), with nothing changed: no
   * process, file, ETag or status. `mode` "canary" also tries the new Lua on a canary worker.
   */
  planChange(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan>;

  /**
   * The history of configurations, newest first: at most `limit` entries (default 20, at most 1000),
   * older than the entry `before`. InvalidHistoryRequest for a bad limit or position,
   * HistoryUnavailable when the history is off.
   */
  listHistory(limit: number | undefined, before: string | undefined): HistoryPage;

  /** The newest history entry of the config with this ETag (bare or quoted), with the config; HistoryEntryNotFound when none. */
  historyEntry(etag: string): HistoryEntryWithConfig;

  /**
   * Makes the config of the newest history entry with this ETag the running one, as a PUT of the
   * whole config would (conditions, validation, canary, rolling restart, `persist`). Returns the new
   * ETag and the ID of the entry restored; HistoryEntryNotFound when there is none.
   */
  restoreHistory(
    etag: string,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ etag: string; "restored-from": string; changed: boolean }>;

  /**
   * A dry run of restoreHistory(): the entry looked up (HistoryEntryNotFound), the checks of
   * `PUT /v1/config` with its config (If-Match included), then the plan, with nothing changed.
   */
  planRestore(etag: string, conditions: Preconditions, mode: DryRunMode, source: string): Promise<ChangePlan>;

  /** Re-reads the config files; applies them if they differ from the running config (or always, forced). */
  reload(force: boolean, source: string): Promise<{ changed: boolean; etag: string }>;

  /** A dry run of reload(): the files read and checked, then the plan, with nothing changed. */
  planReload(force: boolean, mode: DryRunMode, source: string): Promise<ChangePlan>;

  /** Applies the running config again; forced, restarts every worker. */
  renew(force: boolean, source: string): Promise<{ etag: string }>;

  /** Stops everything, the manager included, a moment from now. */
  stop(): void;

  jsonSchema(): Record<string, unknown>;

  processes(filter: ProcessFilter): Promise<ProcessRow[]>;

  /** Every running worker's statistics by worker ID; null for one that gave none. */
  metricsJson(): Promise<MetricsJson>;

  /** The workers' statistics in the Prometheus text exposition format. */
  metricsPrometheus(): Promise<string>;

  /** The live statistics every open dashboard shares (one sampler, running while anybody listens). */
  liveStatistics(): LiveFeed;

  /**
   * Clears the cache as `body` says (undefined: all of it). InvalidCacheClearRequest for a bad
   * body, CacheClearFailed when no worker could do it.
   */
  clearCache(body: unknown): Promise<CacheClearResult>;

  /** Every node of the fleet (revision, health, lag), the rollout, the leader. NotInFleet without a `fleet` section. */
  fleetStatus(): Promise<FleetStatus>;

  /**
   * Validates the fleet document `text` as this node would run it (ConfigParseError,
   * ConfigValidationError, ChangeRefused) and, unless `dryRun`, puts it into etcd as the next
   * revision; FleetUnavailable when etcd cannot be reached.
   */
  fleetApply(text: string, dryRun: boolean, source: string): Promise<FleetApplyResult>;

  /** Puts revision `revision` (else the last one before the current that rolled out) back; UnknownRevision. */
  fleetRollback(revision: number | undefined, source: string): Promise<FleetApplyResult>;

  /** The fleet document's revisions, newest first. */
  fleetHistory(): Promise<FleetHistoryRow[]>;
}
