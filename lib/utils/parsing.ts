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
 * The most data a request body, a config file or the config may stand for, counted as the length of
 * its JSON text once YAML aliases are expanded: 16 MiB, four times the API's 4 MB body limit, so no
 * JSON body is near it. Counting values is not enough: one alias of a long string is one value, and
 * every copy of the data (structuredClone, the ETag's JSON, the answer) writes the string out again.
 */
export const MAX_EXPANDED_BYTES = 16 * 1024 * 1024;

/** Data whose JSON text would be longer than MAX_EXPANDED_BYTES once YAML aliases are expanded (HTTP 413). */
export class ExpandsTooLarge extends UtilsError {
  override readonly status = 413;

  constructor(what = "the data") {
    super(
      `${what} stands for more than ${MAX_EXPANDED_BYTES} bytes (16 MiB) of JSON text once YAML aliases are expanded`,
    );
  }
}

/** What data stands for once YAML aliases are expanded: its nesting, number of values and JSON text length. */
export interface Extent {
  /** Levels of lists and objects: 0 for a scalar. */
  height: number;
  /** Values, containers included. */
  values: number;
  /** The length of its compact JSON text, with strings counted unescaped (UTF-16 code units). */
  bytes: number;
}

/** A scalar's JSON text length (strings unescaped; undefined and functions have none). */
function scalarBytes(v: unknown): number {
  switch (typeof v) {
    case "string":
      return v.length + 2;
    case "number":
      return Number.isFinite(v) ? String(v).length : 4; // NaN and the infinities become null
    case "boolean":
      return v ? 4 : 5;
    case "bigint":
      return String(v).length;
    default:
      return 4; // null (undefined and functions have no text; 4 is an upper bound either way)
  }
}

/**
 * The Extent of value, counted as if every YAML alias were a copy (what every later step will
 * see), without making any copy: each object shared by aliases is walked once and its Extent
 * reused wherever it occurs again, so the walk costs the size of the text, not of the expansion;
 * nor does it go deeper than MAX_NESTING (a cyclic value is simply too deep). Throws
 * NestingTooDeep, TooManyValues or ExpandsTooLarge as soon as a part of value is over a bound.
 */
export function measure(value: unknown): Extent {
  const known = new Map<object, Extent>();
  const visit = (v: unknown, depth: number): Extent => {
    if (typeof v !== "object" || v === null) return { height: 0, values: 1, bytes: scalarBytes(v) };
    if (depth >= MAX_NESTING) throw new NestingTooDeep();
    const seen = known.get(v);
    if (seen) {
      if (depth + seen.height > MAX_NESTING) throw new NestingTooDeep();
      return seen;
    }
    const array = Array.isArray(v);
    const extent = { height: 1, values: 1, bytes: 2 };
    let first = true;
    for (const [key, child] of Object.entries(v)) {
      const below = visit(child, depth + 1);
      extent.height = Math.max(extent.height, below.height + 1);
      extent.values += below.values;
      // Brackets, commas, and for an object member its quoted key and colon.
      extent.bytes += below.bytes + (first ? 0 : 1) + (array ? 0 : key.length + 3);
      first = false;
      if (extent.values > MAX_VALUES) throw new TooManyValues();
      if (extent.bytes > MAX_EXPANDED_BYTES) throw new ExpandsTooLarge();
    }
    known.set(v, extent);
    return extent;
  };
  const extent = visit(value, 0);
  if (extent.bytes > MAX_EXPANDED_BYTES) throw new ExpandsTooLarge(); // one long string
  return extent;
}

/**
 * Throws NestingTooDeep past MAX_NESTING levels of lists and objects, TooManyValues past
 * MAX_VALUES values, ExpandsTooLarge past MAX_EXPANDED_BYTES of JSON text, all counted as if YAML
 * aliases were copies (see measure).
 */
export function checkBounds(value: unknown): void {
  measure(value);
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
  // Before anything copies it: a copy of a small text full of aliases can take gigabytes.
  checkBounds(data);
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
