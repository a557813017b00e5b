/** RFC 6901 JSON pointers: building, parsing, resolving, and editing what they name. */
import { UtilsError } from "./errors.js";

/** A pointer that names nothing, or is no pointer (HTTP 404: the API's paths are pointers). */
export class JsonPointerError extends UtilsError {
  override readonly status: number = 404;

  constructor(
    readonly pointer: string,
    message: string,
  ) {
    super(`${pointer}: ${message}`);
  }

  override get publicMessage(): string {
    return `no such configuration path: ${this.message}`;
  }
}

/**
 * Names a write through a pointer may never use as an object key (HTTP 400): assigning `__proto__`
 * would replace the object's prototype, and `constructor`/`prototype` are how pollution reaches
 * shared prototypes. No configuration key has these names.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

/** A write through a pointer whose last token is a reserved key (RESERVED_KEYS). */
export class ReservedKeyError extends JsonPointerError {
  override readonly status = 400;

  constructor(pointer: string, key: string) {
    super(pointer, `'${key}' is reserved and cannot be written`);
  }

  override get publicMessage(): string {
    return this.message;
  }
}

const escape = (token: string): string => token.replace(/~/g, "~0").replace(/\//g, "~1");
const unescape = (token: string): string => token.replace(/~1/g, "/").replace(/~0/g, "~");

export function toPointer(path: readonly PropertyKey[]): string {
  return path.map((t) => "/" + escape(String(t))).join("");
}

export function parsePointer(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new JsonPointerError(pointer, "a JSON pointer must start with '/'");
  return pointer.slice(1).split("/").map(unescape);
}

type Json = unknown;
type Container = Record<string, Json> | Json[];

function isContainer(v: Json): v is Container {
  return typeof v === "object" && v !== null;
}

/** The index an array token names; with allowEnd, '-' and the length name the slot after the last item. */
function arrayIndex(pointer: string, arr: Json[], token: string, allowEnd: boolean): number {
  if (allowEnd && token === "-") return arr.length;
  if (!/^(0|[1-9]\d*)$/.test(token)) throw new JsonPointerError(pointer, `'${token}' is not an array index`);
  const i = Number(token);
  if (i > arr.length || (!allowEnd && i === arr.length))
    throw new JsonPointerError(pointer, `index ${i} is out of range`);
  return i;
}

/** The value the pointer names; throws JsonPointerError if it names nothing. */
export function getAt(doc: Json, pointer: string): Json {
  let cur = doc;
  for (const token of parsePointer(pointer)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(pointer, cur, token, false)];
    // Own members only: a pointer never reaches what an object inherits (toString, __proto__…).
    else if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, token))
      cur = (cur as Record<string, Json>)[token];
    else throw new JsonPointerError(pointer, `no value at '${token}'`);
  }
  return cur;
}

/** Whether the pointer names a value in doc. */
export function hasAt(doc: Json, pointer: string): boolean {
  try {
    getAt(doc, pointer);
    return true;
  } catch (e) {
    if (e instanceof JsonPointerError) return false;
    throw e;
  }
}

function parentOf(doc: Json, pointer: string): { parent: Container; token: string } {
  const tokens = parsePointer(pointer);
  const token = tokens.pop();
  if (token === undefined) throw new JsonPointerError(pointer, "the document root has no parent");
  const parent = getAt(doc, toPointer(tokens));
  if (!isContainer(parent)) throw new JsonPointerError(pointer, "the parent is not an object or array");
  return { parent, token };
}

/**
 * Writes value at pointer in doc itself (not the root: its parent must exist). An object member is
 * set, created or replaced, as an own data property. An array item is replaced ("replace"), or the
 * value is inserted before it ("insert", RFC 6902's add); '-' or the length appends in both.
 */
export function writeIn(doc: Json, pointer: string, value: Json, how: "replace" | "insert"): void {
  const { parent, token } = parentOf(doc, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(pointer, parent, token, true);
    if (how === "insert") parent.splice(i, 0, value);
    else parent[i] = value;
    return;
  }
  if (RESERVED_KEYS.has(token)) throw new ReservedKeyError(pointer, token);
  // defineProperty, not assignment: no setter (inherited or not) ever runs on a key from a request.
  Object.defineProperty(parent, token, { value, enumerable: true, writable: true, configurable: true });
}

/** Removes the value at pointer from doc itself and returns it; throws if there is none. */
export function removeIn(doc: Json, pointer: string): Json {
  if (pointer === "") throw new JsonPointerError(pointer, "cannot delete the whole document");
  const { parent, token } = parentOf(doc, pointer);
  if (Array.isArray(parent)) return parent.splice(arrayIndex(pointer, parent, token, false), 1)[0];
  if (!Object.prototype.hasOwnProperty.call(parent, token))
    throw new JsonPointerError(pointer, `no value at '${token}'`);
  const value = parent[token];
  delete parent[token];
  return value;
}

/** A copy of doc with the value at pointer replaced (or added; '-' appends to an array). */
export function setAt(doc: Json, pointer: string, value: Json): Json {
  if (pointer === "") return structuredClone(value);
  const copy = structuredClone(doc);
  writeIn(copy, pointer, structuredClone(value), "replace");
  return copy;
}

/** A copy of doc without the value at pointer; throws if there is none. */
export function deleteAt(doc: Json, pointer: string): Json {
  const copy = structuredClone(doc);
  removeIn(copy, pointer);
  return copy;
}
