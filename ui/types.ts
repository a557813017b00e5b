/**
 * The shapes the dashboard reads, taken from the manager's own types (type-only imports: nothing of
 * the manager is bundled; the page talks HTTP).
 */
export type { ProcessRow, Status } from "../lib/manager/api.js";
export type { LiveSample, LiveState } from "../lib/manager/metrics/live.js";
export type { CacheClearResult } from "../lib/datamodel/cache-clear/schema.js";
export type { ChangePlan } from "../lib/datamodel/change-plan.js";
export type { HistoryEntry } from "../lib/manager/history.js";
