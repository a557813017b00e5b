/**
 * A ManagerApi without processes, for driving the HTTP app (createApp) in unit tests: a config
 * document held in memory, every call recorded, and an error to throw on demand.
 */
import type { CacheClearResult } from "../../../lib/datamodel/cache-clear/schema.js";
import { checkPreconditions, structuralEtag, type Preconditions } from "../../../lib/utils/etag.js";
import { applyJsonPatch } from "../../../lib/utils/json-patch.js";
import { deleteAt, getAt, hasAt, setAt } from "../../../lib/utils/json-pointer.js";
import { mergePatch } from "../../../lib/utils/merge-patch.js";
import { documentChanges } from "../../../lib/manager/dry-run.js";
import type {
  ChangePlan,
  ConfigOperation,
  DryRunMode,
  ManagerApi,
  ProcessFilter,
  ProcessRow,
  Status,
} from "../../../lib/manager/api.js";
import type { MetricsJson, MetricValues, WorkerReport } from "../../../lib/manager/metrics/index.js";
import { LiveStatistics } from "../../../lib/manager/metrics/live.js";
import type { FleetApplyResult, FleetHistoryRow, FleetStatus } from "../../../lib/manager/fleet/types.js";
import { HistoryEntryNotFound, HistoryUnavailable } from "../../../lib/manager/errors.js";
import type { History, HistoryEntryWithConfig, HistoryPage } from "../../../lib/manager/history.js";

/** One call the fake got: the method's name and its arguments. */
export type Call = [method: keyof ManagerApi, ...args: unknown[]];

export const PROCESSES: ProcessRow[] = [
  { type: "gc", id: "cache-gc", pid: 30, status: "running" },
  { type: "kresd", id: "kresd0", pid: 10, status: "running" },
  { type: "kresd", id: "kresd1", pid: 11, status: "running" },
  { type: "manager", id: "manager", pid: 1, status: "running" },
];

export const METRICS: MetricsJson = { "kresd:kresd0": { answer: { total: 5 } }, "kresd:kresd1": null };
export const PROMETHEUS_TEXT =
  '# TYPE resolver_answer_total counter\nresolver_answer_total{instance_id="kresd0"} 5\n';
export const SCHEMA = { type: "object", properties: { workers: { type: "integer" } } };

export class FakeApi implements ManagerApi {
  document: Record<string, unknown> = { workers: 2, cache: { "size-max": "100M" }, "local-data": {} };
  readonly calls: Call[] = [];
  /** Thrown (or rejected with) by the next call, then forgotten. */
  failWith: unknown;
  /** The history the history routes read (a real one on a temporary directory); unset: the history is off. */
  history: History | undefined;

  get etag(): string {
    return structuralEtag(this.document);
  }

  /** The calls to one method, arguments only. */
  callsTo(method: keyof ManagerApi): unknown[][] {
    return this.calls.filter(([m]) => m === method).map(([, ...args]) => args);
  }

  private call(method: keyof ManagerApi, ...args: unknown[]): void {
    this.calls.push([method, ...args]);
    const e = this.failWith;
    if (e === undefined) return;
    this.failWith = undefined;
    throw e;
  }

  status(): Status {
    this.call("status");
    return {
      status: "RUNNING",
      version: "9.9.9",
      pid: 4242,
      workers: 2,
      etag: this.etag,
      "config-source": { from: "files", files: ["/etc/knot-resolver/config.yaml"] },
    };
  }

  getConfig(pointer: string): { value: unknown; etag: string } {
    this.call("getConfig", pointer);
    return { value: getAt(this.document, pointer), etag: this.etag };
  }

  // As ManagerService: the conditions are checked against the config the change would replace.
  async changeConfig(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ value: unknown; etag: string; changed: boolean }> {
    // `persist` only when given, so the calls of changes that say nothing read as before.
    this.call(
      "changeConfig",
      op,
      pointer,
      body,
      conditions,
      source,
      ...(persist === undefined ? [] : [persist]),
    );
    checkPreconditions(this.etag, conditions, "change");
    const before = this.etag;
    this.document = this.edited(op, pointer, body);
    return {
      value: op !== "delete" && hasAt(this.document, pointer) ? getAt(this.document, pointer) : undefined,
      etag: this.etag,
      changed: this.etag !== before,
    };
  }

  /** The edits of ManagerService, without validation or workers. */
  private edited(op: ConfigOperation, pointer: string, body: unknown): Record<string, unknown> {
    const edits: Record<ConfigOperation, () => unknown> = {
      put: () => setAt(this.document, pointer, body),
      "merge-patch": () => setAt(this.document, pointer, mergePatch(getAt(this.document, pointer), body)),
      "json-patch": () => applyJsonPatch(this.document, body, pointer),
      delete: () => deleteAt(this.document, pointer),
    };
    return edits[op]() as Record<string, unknown>;
  }

  /** A plan of the edit (its changes by pointer), the document left as it is. */
  async planChange(
    op: ConfigOperation,
    pointer: string,
    body: unknown,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan> {
    this.call("planChange", op, pointer, body, conditions, mode, source);
    checkPreconditions(this.etag, conditions, "change");
    return this.planOf(this.edited(op, pointer, body), mode);
  }

  async planReload(force: boolean, mode: DryRunMode, source: string): Promise<ChangePlan> {
    this.call("planReload", force, mode, source);
    return this.planOf(this.document, mode, force);
  }

  private planOf(next: Record<string, unknown>, mode: DryRunMode, force = false): ChangePlan {
    const newEtag = structuralEtag(next);
    const changed = force || newEtag !== this.etag;
    return {
      "dry-run": mode,
      etag: this.etag,
      "new-etag": newEtag,
      changed,
      changes: documentChanges(this.document, next),
      "yaml-diff": "",
      "lua-changed": false,
      "lua-diff": "",
      processes: { restart: [], start: [], stop: [], unchanged: ["kresd:kresd0", "kresd:kresd1"] },
      ...(mode === "canary" ? { canary: { ok: true, message: "came up" } } : {}),
    };
  }

  listHistory(limit: number | undefined, before: string | undefined): HistoryPage {
    this.call("listHistory", limit, before);
    return this.kept().list(limit, before);
  }

  historyEntry(etag: string): HistoryEntryWithConfig {
    this.call("historyEntry", etag);
    const entry = this.kept().find(etag);
    if (!entry) throw new HistoryEntryNotFound(`no history entry has the ETag ${JSON.stringify(etag)}`);
    return entry;
  }

  // As ManagerService: a PUT of the whole config, the conditions checked against the config it replaces.
  async restoreHistory(
    etag: string,
    conditions: Preconditions,
    source: string,
    persist?: boolean,
  ): Promise<{ etag: string; "restored-from": string; changed: boolean }> {
    this.call("restoreHistory", etag, conditions, source, ...(persist === undefined ? [] : [persist]));
    const entry = this.kept().find(etag);
    if (!entry) throw new HistoryEntryNotFound(`no history entry has the ETag ${JSON.stringify(etag)}`);
    checkPreconditions(this.etag, conditions, "change");
    const before = this.etag;
    this.document = entry.config as Record<string, unknown>;
    return { etag: this.etag, "restored-from": entry.id, changed: this.etag !== before };
  }

  async planRestore(
    etag: string,
    conditions: Preconditions,
    mode: DryRunMode,
    source: string,
  ): Promise<ChangePlan> {
    this.call("planRestore", etag, conditions, mode, source);
    const entry = this.kept().find(etag);
    if (!entry) throw new HistoryEntryNotFound(`no history entry has the ETag ${JSON.stringify(etag)}`);
    checkPreconditions(this.etag, conditions, "change");
    return this.planOf(entry.config as Record<string, unknown>, mode);
  }

  private kept(): History {
    if (!this.history) throw new HistoryUnavailable("no history: the fake keeps none");
    return this.history;
  }

  async reload(force: boolean, source: string): Promise<{ changed: boolean; etag: string }> {
    this.call("reload", force, source);
    return { changed: force, etag: this.etag };
  }

  async renew(force: boolean, source: string): Promise<{ etag: string }> {
    this.call("renew", force, source);
    return { etag: this.etag };
  }

  stop(): void {
    this.call("stop");
  }

  jsonSchema(): Record<string, unknown> {
    this.call("jsonSchema");
    return SCHEMA;
  }

  async processes(filter: ProcessFilter): Promise<ProcessRow[]> {
    this.call("processes", filter);
    return PROCESSES.filter((p) => filter === "all" || p.type === filter);
  }

  async metricsJson(): Promise<MetricsJson> {
    this.call("metricsJson");
    return METRICS;
  }

  async metricsPrometheus(): Promise<string> {
    this.call("metricsPrometheus");
    return PROMETHEUS_TEXT;
  }

  /** What the fake's workers report to the live statistics at each tick (every 50 ms). */
  liveValues: () => WorkerReport<MetricValues>[] = () => [];
  readonly live = new LiveStatistics(
    {
      values: async () => this.liveValues(),
      state: async () => ({ status: { etag: this.etag }, processes: PROCESSES }),
    },
    { intervalMs: 50, keep: 10 },
  );

  liveStatistics(): LiveStatistics {
    this.call("liveStatistics");
    return this.live;
  }

  async clearCache(body: unknown): Promise<CacheClearResult> {
    this.call("clearCache", body);
    return { count: 7 };
  }

  async fleetStatus(): Promise<FleetStatus> {
    this.call("fleetStatus");
    return FLEET_STATUS;
  }

  async fleetApply(text: string, dryRun: boolean, source: string): Promise<FleetApplyResult> {
    this.call("fleetApply", text, dryRun, source);
    return {
      "dry-run": dryRun,
      changed: true,
      diff: `+${text}`,
      ...(dryRun ? {} : { revision: 8 }),
      previous: 7,
    };
  }

  async fleetRollback(revision: number | undefined, source: string): Promise<FleetApplyResult> {
    this.call("fleetRollback", revision, source);
    return { "dry-run": false, changed: true, diff: "", revision: 9, previous: 8 };
  }

  async fleetHistory(): Promise<FleetHistoryRow[]> {
    this.call("fleetHistory");
    return [
      { revision: 7, at: "2026-01-01T00:00:00.000Z", source: "test", outcome: "applied", current: true },
    ];
  }
}

export const FLEET_STATUS: FleetStatus = {
  name: "edge",
  node: "n1",
  connected: true,
  "applied-revision": 7,
  "desired-revision": 7,
  leader: true,
  source: "etcd",
  nodes: [],
};
