import type { KresConfig } from "../datamodel/config.js";
import type { Problem } from "../datamodel/errors.js";
import { ChangeRefused } from "./errors.js";

/**
 * Settings fixed for the life of a running resolver, and why: changing them means restarting
 * knot-resolver (which the API cannot do to itself).
 */
const FIXED: { pointer: string; get: (c: KresConfig) => unknown; why: string }[] = [
  {
    pointer: "/rundir",
    get: (c) => c.rundir,
    why: "every process and file of the running resolver lives there",
  },
  {
    pointer: "/management",
    // All but `persist`, which only says what a change does with the files.
    get: (c) => ({ ...c.management, persist: undefined }),
    why: "the API would move away under the client that changes it",
  },
  {
    pointer: "/fleet",
    get: (c) => c.fleet,
    why: "the node's etcd connection, its name and its place in the fleet are set up at start",
  },
  {
    pointer: "/history/storage",
    get: (c) => c.history.storage,
    why: "the history the manager keeps is opened there at start",
  },
  {
    pointer: "/logging/target",
    get: (c) => c.logging.target,
    why: "supervisord forwards the workers' output to the target it was started with",
  },
];

/** Verifier: refuses a change to any setting that cannot change at run time, naming each. */
export function refuseFixedChanges(current: KresConfig, next: KresConfig): void {
  const problems: Problem[] = FIXED.filter(
    (f) => JSON.stringify(f.get(current)) !== JSON.stringify(f.get(next)),
  ).map((f) => ({
    pointer: f.pointer,
    message: `cannot change while the resolver runs (${f.why}); edit the file and restart knot-resolver`,
  }));
  if (problems.length > 0) {
    throw new ChangeRefused(
      `the change touches settings fixed at start: ${problems.map((p) => p.pointer).join(", ")}`,
      problems,
    );
  }
}
