import * as yaml from "js-yaml";
import { UtilsError } from "./errors.js";

/** Deeper than any config needs; much deeper data would exhaust the stack of whatever walks it. */
export const MAX_NESTING = 64;

/** Data nested deeper than MAX_NESTING levels of lists and objects. */
export class NestingTooDeep extends UtilsError {
  constructor() {
    super(`nested deeper than ${MAX_NESTING} levels of lists and objects`);
  }
}

/** More values than any config holds; YAML aliases can make a small text stand for many more. */
export const MAX_VALUES = 1_000_000;

/** Data that stands for more than MAX_VALUES values once its YAML aliases are expanded. */
export class TooManyValues extends UtilsError {
  constructor() {
    super(`more than ${MAX_VALUES} values (once YAML aliases are expanded)`);
  }
}

/**
 * Throws NestingTooDeep past MAX_NESTING levels of lists and objects, TooManyValues past
 * MAX_VALUES values counted as if aliases were copies (what every later step will see). Each
 * shared object is walked once, and the walk goes no deeper than MAX_NESTING.
 */
export function checkNesting(value: unknown): void {
  const known = new Map<object, { height: number; size: number }>();
  const visit = (v: unknown, depth: number): { height: number; size: number } => {
    if (typeof v !== "object" || v === null) return { height: 0, size: 1 };
    if (depth >= MAX_NESTING) throw new NestingTooDeep();
    const seen = known.get(v);
    if (seen) {
      if (depth + seen.height > MAX_NESTING) throw new NestingTooDeep();
      return seen;
    }
    let height = 1;
    let size = 1;
    for (const child of Object.values(v)) {
      const below = visit(child, depth + 1);
      height = Math.max(height, below.height + 1);
      size += below.size;
      if (size > MAX_VALUES) throw new TooManyValues();
    }
    const result = { height, size };
    known.set(v, result);
    return result;
  };
  visit(value, 0);
}

/** Text to data: YAML (a superset of JSON for our purposes), with duplicate keys refused. */
export function parseYamlOrJson(text: string): unknown {
  let data: unknown;
  try {
    data = yaml.load(text, { schema: yaml.JSON_SCHEMA, json: false });
  } catch (e) {
    if (e instanceof RangeError) throw new NestingTooDeep(); // the parser's own recursion
    throw e;
  }
  checkNesting(data);
  return data;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Later documents override earlier ones key by key; lists and scalars are replaced whole. For
 * `knot-resolver -c A -c B`. Not mergePatch (./merge-patch.ts), on purpose: there a null deletes
 * the key (RFC 7396), here a null in a later file is a value like any other and goes to validation
 * as written.
 */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}
