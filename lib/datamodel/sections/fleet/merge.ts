/**
 * A fleet node's config: its own file with the fleet document (the YAML text kept in etcd) merged
 * over it. Pure: reading etcd is the manager's job.
 */
import { ConfigValidationError, type Problem } from "../../errors.js";
import { getAt, hasAt, setAt } from "../../../utils/json-pointer.js";
import { deepMerge, isPlainObject } from "../../../utils/parsing.js";
import { parseConfigText } from "../../load.js";

/**
 * What each node keeps from its own file, and why the fleet document may not set it: where the
 * node runs, listens and is managed differ from node to node by design.
 */
export const NODE_LOCAL_POINTERS: readonly string[] = [
  "/rundir",
  "/management",
  "/fleet",
  "/network/listen",
  "/cache/storage",
  "/logging/target",
  "/history",
  "/hostname",
  "/nsid",
];

/**
 * Parses the fleet document (YAML or JSON text; empty means no shared settings) and checks it sets
 * no node-local key; throws ConfigParseError or ConfigValidationError (every such key named).
 */
export function parseFleetDocument(text: string, source = "the fleet document"): Record<string, unknown> {
  // An empty document is a fleet that shares nothing yet (every node runs its own file).
  const doc = text.trim() === "" ? {} : (parseConfigText(text, source) ?? {});
  if (!isPlainObject(doc))
    throw new ConfigValidationError([
      { pointer: "", message: `${source} must be a mapping of config sections` },
    ]);
  const problems: Problem[] = NODE_LOCAL_POINTERS.filter((p) => hasAt(doc, p)).map((pointer) => ({
    pointer,
    message: "node-local: it stays in each node's own config file and cannot be set by the fleet",
  }));
  if (problems.length > 0) throw new ConfigValidationError(problems);
  return doc;
}

/**
 * The node's document: the fleet document merged over the local one (mappings key by key, anything
 * else replaced), then every node-local key as the local file has it (absent stays absent).
 */
export function mergeFleetDocument(local: unknown, fleet: Record<string, unknown>): unknown {
  let merged = deepMerge(local ?? {}, fleet);
  for (const pointer of NODE_LOCAL_POINTERS)
    if (hasAt(local, pointer)) merged = setAt(merged, pointer, structuredClone(getAt(local, pointer)));
  return merged;
}
