/** RFC 6901 JSON pointers: building, parsing and resolving. */
import { UtilsError } from "./errors.js";

/** A pointer that names nothing, or is no pointer (HTTP 404: the API's paths are pointers). */
export class JsonPointerError extends UtilsError {
  override readonly status = 404;

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

function isContainer(v: Json): v is Record<string, Json> | Json[] {
  return typeof v === "object" && v !== null;
}

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
    else if (isContainer(cur) && Object.prototype.hasOwnProperty.call(cur, token))
      cur = (cur as Record<string, Json>)[token];
    else throw new JsonPointerError(pointer, `no value at '${token}'`);
  }
  return cur;
}

function parentOf(doc: Json, pointer: string): { parent: Record<string, Json> | Json[]; token: string } {
  const tokens = parsePointer(pointer);
  const token = tokens.pop();
  if (token === undefined) throw new JsonPointerError(pointer, "the document root has no parent");
  const parent = getAt(doc, tokens.map((t) => "/" + escape(t)).join(""));
  if (!isContainer(parent)) throw new JsonPointerError(pointer, "the parent is not an object or array");
  return { parent, token };
}

/** A copy of doc with the value at pointer replaced (or added; '-' appends to an array). */
export function setAt(doc: Json, pointer: string, value: Json): Json {
  if (pointer === "") return structuredClone(value);
  const copy = structuredClone(doc);
  const { parent, token } = parentOf(copy, pointer);
  if (Array.isArray(parent)) parent[arrayIndex(pointer, parent, token, true)] = value;
  else parent[token] = value;
  return copy;
}

/** A copy of doc without the value at pointer; throws if there is none. */
export function deleteAt(doc: Json, pointer: string): Json {
  if (pointer === "") throw new JsonPointerError(pointer, "cannot delete the whole document");
  const copy = structuredClone(doc);
  const { parent, token } = parentOf(copy, pointer);
  if (Array.isArray(parent)) parent.splice(arrayIndex(pointer, parent, token, false), 1);
  else if (Object.prototype.hasOwnProperty.call(parent, token)) delete parent[token];
  else throw new JsonPointerError(pointer, `no value at '${token}'`);
  return copy;
}
