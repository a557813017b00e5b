/**
 * What a dry run answers (`?dry-run=true|canary` on a config change or a reload): what the change
 * would do, computed by the same code that would do it, with nothing changed. One schema for the
 * manager, which builds it, and kresctl, which reads it from the answer.
 */
import { z } from "zod";

/** `?dry-run=`: plan only, or plan and try the new Lua on a canary worker too. */
export const DRY_RUN_MODES = ["true", "canary"] as const;
export type DryRunMode = (typeof DRY_RUN_MODES)[number];

/** One changed place in the document, by JSON pointer (RFC 6902's words for what happens there). */
export const planChangeSchema = z.discriminatedUnion("op", [
  z.object({ pointer: z.string(), op: z.literal("add"), new: z.unknown() }),
  z.object({ pointer: z.string(), op: z.literal("replace"), old: z.unknown(), new: z.unknown() }),
  z.object({ pointer: z.string(), op: z.literal("remove"), old: z.unknown() }),
]);
export type PlanChange = z.output<typeof planChangeSchema>;

/**
 * What happens to each process (supervisord `group:name`, as GET /processes names them): restarted
 * (replaced by a new PID), started, stopped, or left running as it is. The canary is not listed.
 */
export const processPlanSchema = z.object({
  restart: z.array(z.string()),
  start: z.array(z.string()),
  stop: z.array(z.string()),
  unchanged: z.array(z.string()),
});
export type ProcessPlan = z.output<typeof processPlanSchema>;

export const changePlanSchema = z.object({
  "dry-run": z.enum(DRY_RUN_MODES),
  /** The running config's ETag (nothing changed it). */
  etag: z.string(),
  /** The ETag the change would give the config. */
  "new-etag": z.string(),
  /** Whether the change would be applied (false: the same config, nothing forced). */
  changed: z.boolean(),
  changes: z.array(planChangeSchema),
  /** Unified diff of the running config's YAML against the new one; '' when equal. */
  "yaml-diff": z.string(),
  /** Whether a worker's Lua would differ, and the unified diff of it ('' when not). */
  "lua-changed": z.boolean(),
  "lua-diff": z.string(),
  processes: processPlanSchema,
  /** Only for `dry-run=canary`: whether a canary worker came up with the new Lua (it was stopped). */
  canary: z.object({ ok: z.boolean(), message: z.string() }).optional(),
});
export type ChangePlan = z.output<typeof changePlanSchema>;
