/**
 * Which processes a change restarts, starts, stops or leaves alone: decided once, here, from what
 * runs. KresManager.converge() carries the decision out and a dry run reports it, so the two
 * cannot tell different stories.
 */
import { CACHE_GC, CANARY_SLOT, kresdName, type SubprocessStatus } from "../controller/interface.js";
import type { ProcessPlan } from "../datamodel/change-plan.js";

export type { ProcessPlan } from "../datamodel/change-plan.js";

/** What runs, as a change finds it. */
export interface Observed {
  /** Every process the controller lists. */
  processes: readonly SubprocessStatus[];
  /** Worker slots the new config keeps whose Lua differs from the new one (every running one when forced). */
  stale: ReadonlySet<number>;
  /** The controller would replace cache-gc's program: its settings change. */
  gcReplaced: boolean;
}

/** Running, or on its way there: a process a change has to deal with. */
export function isUp(p: SubprocessStatus): boolean {
  return p.state === "running" || p.state === "starting" || p.state === "backoff";
}

/**
 * The decision for a config of `workers` workers that does (`gcWanted`) or does not want cache-gc:
 * a worker slot below `workers` is restarted when its Lua is stale, started when nothing runs in
 * it, else left alone; a running worker above is stopped (the canary's slot is the change's own
 * business); cache-gc is started, stopped or restarted (new settings) to match.
 */
export function planProcesses(workers: number, gcWanted: boolean, seen: Observed): ProcessPlan {
  const plan: ProcessPlan = { restart: [], start: [], stop: [], unchanged: [] };
  const kresds = new Map(seen.processes.filter((p) => p.kind === "kresd").map((p) => [p.id as number, p]));
  for (let id = 0; id < workers; id++) {
    const p = kresds.get(id);
    const name = kresdName(id);
    if (!p || !isUp(p)) plan.start.push(name);
    else (seen.stale.has(id) ? plan.restart : plan.unchanged).push(name);
  }
  const surplus = [...kresds.values()]
    .filter((p) => p.id !== CANARY_SLOT && (p.id as number) >= workers && isUp(p))
    .sort((a, b) => (a.id as number) - (b.id as number));
  plan.stop.push(...surplus.map((p) => p.name));
  const gc = seen.processes.find((p) => p.name === CACHE_GC);
  const gcUp = gc !== undefined && isUp(gc);
  if (gcWanted && !gcUp) plan.start.push(CACHE_GC);
  else if (gcWanted) (seen.gcReplaced ? plan.restart : plan.unchanged).push(CACHE_GC);
  else if (gcUp) plan.stop.push(CACHE_GC);
  return plan;
}

/** A change that changes nothing: everything that runs goes on running (the canary aside). */
export function nothingChanges(processes: readonly SubprocessStatus[]): ProcessPlan {
  const up = processes.filter(
    (p) => isUp(p) && p.kind !== "manager" && !(p.kind === "kresd" && p.id === CANARY_SLOT),
  );
  const order = (p: SubprocessStatus) => (p.kind === "kresd" ? (p.id as number) : Number.MAX_SAFE_INTEGER);
  return {
    restart: [],
    start: [],
    stop: [],
    unchanged: up.sort((a, b) => order(a) - order(b)).map((p) => p.name),
  };
}
