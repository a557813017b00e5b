/** What the management API answers about the fleet (GET /, GET /v1/fleet, fleet apply/rollback/history). */
import type { HistoryEntry, NodeHealth, Rollout } from "./records.js";

/** This node's view, in GET /: enough to see at once whether it follows the fleet. */
export interface FleetSummary {
  name: string;
  node: string;
  /** Whether etcd answered this node's last call. */
  connected: boolean;
  /** Since when etcd has been unreachable (absent while connected): DNS goes on meanwhile. */
  "disconnected-since"?: string;
  "etcd-error"?: string;
  /** The fleet revision this node runs (0: none yet, its local files only), and the newest one seen. */
  "applied-revision": number;
  "desired-revision"?: number;
  /** Whether this node's manager is the elected one that runs rollouts. */
  leader: boolean;
}

export interface FleetNodeRow {
  node: string;
  revision: number;
  /** Revisions behind the desired one (0: up to date). */
  lag: number;
  etag: string;
  health: NodeHealth;
  failed?: { revision: number; error: string; at: string };
  api?: string;
  updated: string;
}

export interface FleetStatus extends FleetSummary {
  /** "etcd": read now; "last-known": etcd is unreachable, the nodes are as this node last read them. */
  source: "etcd" | "last-known";
  "leader-node"?: string;
  rollout?: Rollout;
  nodes: FleetNodeRow[];
}

export interface FleetApplyResult {
  /** The new revision (absent for a dry run, or when nothing changed). */
  revision?: number;
  "dry-run": boolean;
  changed: boolean;
  /** The revision it replaces, if any. */
  previous?: number;
  /** Unified diff of the fleet document, old to new. */
  diff: string;
}

/** One revision of the fleet document, without its text. */
export type FleetHistoryRow = Omit<HistoryEntry, "text"> & { current: boolean };
