/**
 * The JSON values a fleet keeps in etcd (keys.ts), as zod schemas: what another node wrote is read
 * back checked, and a value that does not fit counts as absent (with a log line), never as a crash.
 */
import { z } from "zod";
import { logger } from "../logger.js";

export const nodeHealthSchema = z.object({
  ok: z.boolean(),
  /** What is wrong when not ok: one line each. */
  problems: z.array(z.string()),
  /** When the manager last checked. */
  at: z.string(),
});
export type NodeHealth = z.infer<typeof nodeHealthSchema>;

/** nodes/<node>: a node's own report, rewritten on every change of it and kept alive by its lease. */
export const nodeStateSchema = z.object({
  node: z.string(),
  /** The fleet revision this node runs (0: none yet, its own file only). */
  revision: z.number().int().nonnegative(),
  /** ETag of the config the node runs. */
  etag: z.string(),
  health: nodeHealthSchema,
  /** The last revision this node could not apply, and why. */
  failed: z.object({ revision: z.number().int(), error: z.string(), at: z.string() }).optional(),
  /** Where its API listens, for an operator. */
  api: z.string().optional(),
  updated: z.string(),
});
export type NodeState = z.infer<typeof nodeStateSchema>;

export const ROLLOUT_PHASES = ["canary", "soak", "waves", "done", "failed"] as const;

/** rollout: written by the elected manager only; nodes apply `revision` only when `allowed` names them. */
export const rolloutSchema = z.object({
  revision: z.number().int().positive(),
  phase: z.enum(ROLLOUT_PHASES),
  /** Nodes that may apply `revision` now; "all" once it is done (late nodes catch up). */
  allowed: z.union([z.literal("all"), z.array(z.string())]),
  canary: z.string().optional(),
  /** Which wave runs (1-based; 0 while the canary does). */
  wave: z.number().int().nonnegative(),
  leader: z.string(),
  started: z.string(),
  updated: z.string(),
  /** The last revision whose rollout completed: where the fleet returns when one fails. */
  "last-good": z.number().int().positive().optional(),
  failure: z.object({ node: z.string(), reason: z.string() }).optional(),
});
export type Rollout = z.infer<typeof rolloutSchema>;

export const HISTORY_OUTCOMES = ["pending", "applied", "failed", "superseded"] as const;

/** history/<revision>: one revision of the fleet document. */
export const historyEntrySchema = z.object({
  revision: z.number().int().positive(),
  text: z.string(),
  at: z.string(),
  /** Who put it: "kresctl fleet apply on <node>", "rollback to 12 …", "automatic rollback …". */
  source: z.string(),
  /** Set when this revision returns to an earlier one (by hand or by itself). */
  "rollback-to": z.number().int().positive().optional(),
  automatic: z.boolean().optional(),
  outcome: z.enum(HISTORY_OUTCOMES),
  reason: z.string().optional(),
});
export type HistoryEntry = z.infer<typeof historyEntrySchema>;

/** A stored JSON value read with `schema`; undefined (logged) when absent or not of that shape. */
export function readRecord<T>(schema: z.ZodType<T>, key: string, text: string | null): T | undefined {
  if (text === null) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    logger.warning(`fleet: ${key} holds no JSON; ignored`);
    return undefined;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    logger.warning(`fleet: ${key} is not what this manager writes there; ignored: ${parsed.error.message}`);
    return undefined;
  }
  return parsed.data;
}
