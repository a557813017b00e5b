/**
 * The shapes the dashboard reads, taken from the manager's own types (type-only imports: nothing of
 * the manager is bundled; the page talks HTTP). The dry-run plan and the history entries are the
 * session's API contracts (issue 18), written here until their modules land on main.
 */
export type { ProcessRow, Status } from "../lib/manager/api.js";
export type { LiveSample, LiveState } from "../lib/manager/metrics/live.js";
export type { CacheClearResult } from "../lib/datamodel/cache-clear/schema.js";

/** A dry run's answer (`?dry-run=true`). */
export interface ChangePlan {
  "dry-run": "true" | "canary";
  etag: string;
  "new-etag": string;
  changed: boolean;
  changes: { pointer: string; op: "add" | "remove" | "replace"; old?: unknown; new?: unknown }[];
  "yaml-diff": string;
  "lua-changed": boolean;
  "lua-diff": string;
  processes: { restart: string[]; start: string[]; stop: string[]; unchanged: string[] };
  canary?: { ok: boolean; message: string };
}

/** One entry of GET /v1/history. */
export interface HistoryEntry {
  id: string;
  etag: string;
  time: string;
  source: string;
  kind: "api" | "reload" | "sighup" | "rollback" | "restore" | "start";
  outcome: "applied" | "rolled-back";
  message?: string;
  previous?: string;
}
