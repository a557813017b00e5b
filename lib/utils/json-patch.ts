/**
 * RFC 6902 JSON Patch, as PATCH /v1/config takes a JSON array: a list of operations (add, remove,
 * replace, move, copy, test) applied in order, all or nothing. Paths are JSON pointers (./json-pointer.ts)
 * relative to a base: the config path the request names.
 */
import { UtilsError } from "./errors.js";
import {
  getAt,
  JsonPointerError,
  parsePointer,
  removeIn,
  ReservedKeyError,
  writeIn,
} from "./json-pointer.js";
import {
  checkBounds,
  ExpandsTooLarge,
  isPlainObject,
  MAX_EXPANDED_BYTES,
  MAX_NESTING,
  MAX_VALUES,
  measure,
  NestingTooDeep,
  TooManyValues,
} from "./parsing.js";

export type JsonPatchOperation =
  | { op: "add" | "replace" | "test"; path: string; value: unknown }
  | { op: "remove"; path: string }
  | { op: "move" | "copy"; from: string; path: string };

export type JsonPatchOp = JsonPatchOperation["op"];

const OPS: readonly JsonPatchOp[] = ["add", "remove", "replace", "move", "copy", "test"];

/** How an operation is named in errors: its index (from 0, as upstream counts) and what it does. */
function describeOp(index: number, op?: string, path?: string): string {
  const what = [op, path === undefined ? undefined : path === "" ? '""' : path].filter(
    (s) => s !== undefined,
  );
  return `JSON Patch operation ${index}${what.length ? ` (${what.join(" ")})` : ""}`;
}

/** A patch that is not a list of well-formed operations (HTTP 400); nothing was applied. */
export class InvalidJsonPatch extends UtilsError {
  override readonly status = 400;

  constructor(
    message: string,
    /** The operation at fault, when one is. */
    readonly index?: number,
  ) {
    super(message);
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return this.index === undefined ? {} : { operation: this.index };
  }
}

/**
 * An operation that cannot apply to the document as it is (HTTP 409, RFC 5789's "conflicting
 * state"): its path or `from` names nothing, an index is out of range, a value would move into itself.
 * Nothing was applied.
 */
export class JsonPatchConflict extends UtilsError {
  override readonly status = 409;

  constructor(
    readonly index: number,
    readonly op: JsonPatchOp,
    readonly path: string,
    reason: string,
  ) {
    super(`${describeOp(index, op, path)} failed: ${reason}`);
  }

  override get publicDetails(): Readonly<Record<string, unknown>> {
    return { operation: this.index, op: this.op, path: this.path };
  }
}

/** A `test` operation whose value differs from the document's (HTTP 409); nothing was applied. */
export class JsonPatchTestFailed extends JsonPatchConflict {}

function checkPointer(index: number, op: string | undefined, member: string, value: unknown): string {
  if (typeof value !== "string")
    throw new InvalidJsonPatch(`${describeOp(index, op)}: '${member}' must be a JSON pointer string`, index);
  try {
    parsePointer(value);
  } catch (e) {
    if (!(e instanceof JsonPointerError)) throw e;
    throw new InvalidJsonPatch(
      `${describeOp(index, op)}: '${member}' ${JSON.stringify(value)} is not a JSON pointer (it must be empty or start with '/')`,
      index,
    );
  }
  return value;
}

/**
 * The operations of a JSON Patch document, checked for shape: an array of objects, each with a
 * known `op`, a `path` pointer, and the `value` or `from` its op needs (other members are ignored,
 * as the RFC says). Throws InvalidJsonPatch naming the first bad operation.
 */
export function parseJsonPatch(patch: unknown): JsonPatchOperation[] {
  if (!Array.isArray(patch))
    throw new InvalidJsonPatch("a JSON Patch must be an array of operations (RFC 6902)");
  return patch.map((item: unknown, index): JsonPatchOperation => {
    if (!isPlainObject(item))
      throw new InvalidJsonPatch(`${describeOp(index)}: must be an object with 'op' and 'path'`, index);
    const has = (member: string) => Object.prototype.hasOwnProperty.call(item, member);
    const op = item.op;
    if (typeof op !== "string" || !(OPS as readonly string[]).includes(op))
      throw new InvalidJsonPatch(
        `${describeOp(index)}: 'op' must be one of ${OPS.join(", ")}${has("op") ? `, not ${JSON.stringify(op)}` : ""}`,
        index,
      );
    if (!has("path")) throw new InvalidJsonPatch(`${describeOp(index, op)}: 'path' is missing`, index);
    const path = checkPointer(index, op, "path", item.path);
    switch (op as JsonPatchOp) {
      case "add":
      case "replace":
      case "test":
        // A missing value is an error, not null: {"op": "add", "path": "/x"} is a mistake.
        if (!has("value"))
          throw new InvalidJsonPatch(`${describeOp(index, op, path)}: 'value' is missing`, index);
        return { op: op as "add" | "replace" | "test", path, value: item.value };
      case "remove":
        return { op: "remove", path };
      case "move":
      case "copy":
        if (!has("from"))
          throw new InvalidJsonPatch(`${describeOp(index, op, path)}: 'from' is missing`, index);
        return { op: op as "move" | "copy", from: checkPointer(index, op, "from", item.from), path };
    }
  });
}

/** JSON equality as RFC 6902 §4.6 defines it for `test`: member order does not count, item order does. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (!isPlainObject(a) || !isPlainObject(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && jsonEqual(a[k], b[k]));
}

/** A value for a message: JSON, cut short. */
function brief(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = "(a value too deep to show)"; // moves can nest the document deeper than the stack allows
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Takes one copied value from what the patch may still copy, in values and in JSON text
 * (`budget`): `copy` is the one operation that makes a document larger than the patch, so a few
 * dozen operations that each copy the last copy would otherwise double the document each time,
 * and a thousand copies of a long string would each write it out again. Throws TooManyValues,
 * ExpandsTooLarge or NestingTooDeep.
 */
function chargeCopy(value: unknown, budget: { values: number; bytes: number }): void {
  const { values, bytes } = measure(value);
  budget.values -= values;
  budget.bytes -= bytes;
  if (budget.values < 0) throw new TooManyValues();
  if (budget.bytes < 0) throw new ExpandsTooLarge();
}

/** Whether pointer a is a proper prefix of pointer b, token by token ("/a" of "/a/b", not of "/ab"). */
function isProperPrefix(a: string, b: string): boolean {
  return b.startsWith(a + "/") || (a === "" && b !== "");
}

/**
 * The document with the patch applied, every path (and `from`) taken relative to `base`: with base
 * "/cache", {"op": "replace", "path": "/size-max"} replaces /cache/size-max, and path "" names
 * /cache itself. The operations run in order on one copy; the first that fails throws and the
 * input is left untouched (all or nothing, RFC 6902 §5). The result shares nothing with the inputs.
 *
 * What the patch may make is bounded as what a request body may hold: the values copied in all
 * at most MAX_VALUES and MAX_EXPANDED_BYTES of JSON text, the result no larger than that and
 * nested no deeper than MAX_NESTING.
 *
 * Throws InvalidJsonPatch (malformed patch, a reserved key written, a result too large or too
 * deep), JsonPatchConflict (an operation that cannot apply) or JsonPatchTestFailed.
 */
export function applyJsonPatch(doc: unknown, patch: unknown, base = ""): unknown {
  parsePointer(base);
  const ops = parseJsonPatch(patch);
  let root = structuredClone(doc);
  const copyBudget = { values: MAX_VALUES, bytes: MAX_EXPANDED_BYTES };
  // The root itself has no parent to write into: add/replace at "" swap the whole document.
  const put = (at: string, value: unknown, how: "replace" | "insert") => {
    if (at === "") root = value;
    else writeIn(root, at, value, how);
  };
  ops.forEach((o, index) => {
    const path = base + o.path;
    try {
      switch (o.op) {
        case "add":
          put(path, structuredClone(o.value), "insert");
          break;
        case "remove":
          removeIn(root, path);
          break;
        case "replace":
          getAt(root, path); // it must exist: replace never creates
          put(path, structuredClone(o.value), "replace");
          break;
        case "move": {
          const from = base + o.from;
          if (isProperPrefix(from, path))
            throw new JsonPatchConflict(
              index,
              o.op,
              o.path,
              `cannot move ${from === "" ? "the whole document" : from} into itself`,
            );
          if (from === path) {
            getAt(root, from); // a move onto itself changes nothing, but what it moves must exist
            break;
          }
          put(path, removeIn(root, from), "insert");
          break;
        }
        case "copy": {
          const value = getAt(root, base + o.from);
          chargeCopy(value, copyBudget);
          put(path, structuredClone(value), "insert");
          break;
        }
        case "test": {
          const actual = getAt(root, path);
          if (!jsonEqual(actual, o.value))
            throw new JsonPatchTestFailed(
              index,
              o.op,
              o.path,
              `${path === "" ? "the value" : path} is ${brief(actual)}, not ${brief(o.value)}`,
            );
          break;
        }
      }
    } catch (e) {
      if (e instanceof ReservedKeyError)
        throw new InvalidJsonPatch(`${describeOp(index, o.op, o.path)}: ${e.message}`, index);
      if (e instanceof JsonPointerError) throw new JsonPatchConflict(index, o.op, o.path, e.message);
      if (e instanceof TooManyValues)
        throw new InvalidJsonPatch(
          `${describeOp(index, o.op, o.path)}: the patch copies more than ${MAX_VALUES} values in all`,
          index,
        );
      if (e instanceof ExpandsTooLarge)
        throw new InvalidJsonPatch(
          `${describeOp(index, o.op, o.path)}: the patch copies more than ${MAX_EXPANDED_BYTES} bytes of JSON text in all`,
          index,
        );
      if (e instanceof NestingTooDeep)
        throw new InvalidJsonPatch(`${describeOp(index, o.op, o.path)}: copies a value ${e.message}`, index);
      throw e;
    }
  });
  try {
    checkBounds(root);
  } catch (e) {
    if (e instanceof NestingTooDeep)
      throw new InvalidJsonPatch(
        `the patched document would be nested deeper than ${MAX_NESTING} levels of lists and objects`,
      );
    if (e instanceof TooManyValues)
      throw new InvalidJsonPatch(`the patched document would hold more than ${MAX_VALUES} values`);
    if (e instanceof ExpandsTooLarge)
      throw new InvalidJsonPatch(
        `the patched document would be more than ${MAX_EXPANDED_BYTES} bytes of JSON text`,
      );
    throw e;
  }
  return root;
}
