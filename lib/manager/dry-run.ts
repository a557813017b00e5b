/**
 * A dry run's answer (ChangePlan, lib/datamodel/change-plan.ts) from what the config store and the
 * manager found: the document's changes by pointer, the YAML and Lua as unified diffs.
 */
import type { ChangePlan, DryRunMode, PlanChange, ProcessPlan } from "../datamodel/change-plan.js";
import { diffJson } from "../utils/json-diff.js";
import { getAt, hasAt, toPointer } from "../utils/json-pointer.js";
import { unifiedDiff } from "../utils/unified-diff.js";
import { dumpYaml } from "../utils/yaml-dump.js";
import type { Snapshot } from "./config-store.js";
import type { CanaryTrial } from "./kres-manager.js";

/**
 * The places where `after` differs from `before`, deepest first where they can be (as a persisted
 * change edits the file): 'add' where `before` has nothing, 'replace' and 'remove' with the old value.
 */
export function documentChanges(before: unknown, after: unknown): PlanChange[] {
  return diffJson(before, after).map((c): PlanChange => {
    const pointer = toPointer(c.path);
    if (c.op === "delete") return { pointer, op: "remove", old: getAt(before, pointer) };
    return hasAt(before, pointer)
      ? { pointer, op: "replace", old: getAt(before, pointer), new: c.value }
      : { pointer, op: "add", new: c.value };
  });
}

/** What the manager found a change would do to the workers. */
export interface WorkersPlan {
  processes: ProcessPlan;
  /** One worker's Lua now and after the change. */
  lua: { running: string; next: string };
  canary?: CanaryTrial;
}

/** The plan of a change from `before` to `next` (`applies`: false when it would stop at "unchanged"). */
export function changePlan(
  mode: DryRunMode,
  before: Snapshot,
  next: Snapshot,
  applies: boolean,
  workers: WorkersPlan,
): ChangePlan {
  const { lua } = workers;
  return {
    "dry-run": mode,
    etag: before.etag,
    "new-etag": next.etag,
    changed: applies,
    changes: documentChanges(before.document, next.document),
    "yaml-diff": unifiedDiff(
      dumpYaml(before.document),
      dumpYaml(next.document),
      "running/config.yaml",
      "new/config.yaml",
    ),
    "lua-changed": lua.running !== lua.next,
    "lua-diff": unifiedDiff(lua.running, lua.next, "running/kresd.lua", "new/kresd.lua"),
    processes: workers.processes,
    ...(workers.canary ? { canary: workers.canary } : {}),
  };
}
