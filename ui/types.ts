/**
 * The shapes the dashboard reads, taken from the manager's own types (type-only imports: nothing of
 * the manager is bundled; the page talks HTTP). The history entries are the session's API contract
 * (issue 18), written here until the history module lands on main.
 */
export type { ProcessRow, Status } from "../lib/manager/api.js";
export type { LiveSample, LiveState } from "../lib/manager/metrics/live.js";
export type { CacheClearResult } from "../lib/datamodel/cache-clear/schema.js";
export type { ChangePlan } from "../lib/datamodel/change-plan.js";

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
