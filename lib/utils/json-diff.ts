import { isPlainObject } from "./parsing.js";

/** A path into a JSON value: object keys as strings, list indexes as numbers. */
export type JsonPath = readonly (string | number)[];

/** One step that turns a document into another: put `value` at `path`, or remove what is there. */
export type JsonChange =
  | { readonly op: "set"; readonly path: JsonPath; readonly value: unknown }
  | { readonly op: "delete"; readonly path: JsonPath };

function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((v, i) => sameJson(v, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => k in b && sameJson(a[k], b[k]));
  }
  return false;
}

/**
 * The smallest changes, deepest first where they can be, that turn `from` into `to`: objects are
 * compared key by key and lists item by item (a longer list gets items appended, a shorter one loses
 * its last items, deleted from the end so each index still names the item meant). Applied in order
 * they give exactly `to`; a file edited by them keeps everything they do not name.
 */
export function diffJson(from: unknown, to: unknown, at: JsonPath = []): JsonChange[] {
  if (sameJson(from, to)) return [];
  if (isPlainObject(from) && isPlainObject(to)) {
    const out: JsonChange[] = [];
    for (const k of Object.keys(from)) if (!(k in to)) out.push({ op: "delete", path: [...at, k] });
    for (const [k, v] of Object.entries(to))
      out.push(
        ...(k in from
          ? diffJson(from[k], v, [...at, k])
          : [{ op: "set" as const, path: [...at, k], value: v }]),
      );
    return out;
  }
  if (Array.isArray(from) && Array.isArray(to) && from.length > 0 && to.length > 0) {
    const out: JsonChange[] = [];
    const common = Math.min(from.length, to.length);
    for (let i = 0; i < common; i++) out.push(...diffJson(from[i], to[i], [...at, i]));
    for (let i = common; i < to.length; i++) out.push({ op: "set", path: [...at, i], value: to[i] });
    for (let i = from.length - 1; i >= common; i--) out.push({ op: "delete", path: [...at, i] });
    return out;
  }
  return [{ op: "set", path: at, value: to }];
}

/** `doc` with one change applied (a copy where it differs; `doc` itself is not modified). */
export function applyJsonChange(doc: unknown, change: JsonChange): unknown {
  const [head, ...rest] = change.path;
  if (head === undefined) return change.op === "set" ? structuredClone(change.value) : undefined;
  if (Array.isArray(doc)) {
    const copy = [...doc];
    const i = Number(head);
    if (rest.length === 0 && change.op === "delete") copy.splice(i, 1);
    else copy[i] = applyJsonChange(copy[i], { ...change, path: rest });
    return copy;
  }
  const obj: Record<string, unknown> = isPlainObject(doc) ? { ...doc } : {};
  const key = String(head);
  if (rest.length === 0 && change.op === "delete") delete obj[key];
  else obj[key] = applyJsonChange(obj[key], { ...change, path: rest });
  return obj;
}

export { sameJson };
