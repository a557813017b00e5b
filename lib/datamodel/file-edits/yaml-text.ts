/**
 * Edits the text of one YAML config file by JSON changes, touching only the lines a change names:
 * every other byte (comments, key order, quoting, blank lines, indentation) stays as it was. Where
 * a change cannot be spliced into the text (flow collections, a map or list that would become
 * empty…), the file is re-rendered from yaml's document model instead, which keeps the comments
 * and order but may reformat. Either way the result is parsed again and must give exactly the
 * expected value, or nothing is written.
 */
import * as Y from "yaml";
import { applyJsonChange, sameJson, type JsonChange, type JsonPath } from "../../utils/json-diff.js";
import { parseYamlOrJson } from "../../utils/parsing.js";

/** A change that the file's text cannot be made to hold. */
export class UneditableText extends Error {}

function lineStart(text: string, pos: number): number {
  return text.lastIndexOf("\n", pos - 1) + 1;
}

/** The position just past the end of the line that holds pos - 1 (past its newline, if any). */
function pastLine(text: string, end: number): number {
  if (end > 0 && text[end - 1] === "\n") return end;
  const nl = text.indexOf("\n", end);
  return nl < 0 ? text.length : nl + 1;
}

function indentLines(block: string, indent: string): string {
  return block
    .split("\n")
    .map((l, i) => (i === 0 || l === "" ? l : indent + l))
    .join("\n");
}

/** A scalar as YAML text on one line, quoted as the old scalar was when both are strings. */
function scalarText(value: unknown, old: unknown): string {
  const oldType = Y.isScalar(old) && typeof old.value === "string" ? old.type : undefined;
  const quote = typeof value === "string" && (oldType === "QUOTE_DOUBLE" || oldType === "QUOTE_SINGLE");
  const text = Y.stringify(value, {
    lineWidth: 0,
    ...(quote ? { defaultStringType: oldType as Y.Scalar.Type } : {}),
  }).replace(/\n$/, "");
  return text.includes("\n") ? JSON.stringify(value) : text;
}

/** value in block style for a place at column `indent`: its first line unindented, no final newline. */
function blockText(value: unknown, indent: string): string {
  return indentLines(Y.stringify(value, { lineWidth: 0 }).replace(/\n$/, ""), indent);
}

function isBlockCollection(node: unknown): node is Y.YAMLMap | Y.YAMLSeq {
  return (Y.isMap(node) || Y.isSeq(node)) && !node.flow;
}

/**
 * The pair of `map` whose key reads as `key` (compared as text: the config reader makes every key a
 * string, where yaml's own lookup would tell the key `1` from "1").
 */
function findPair(map: Y.YAMLMap, key: string | number): Y.Pair | undefined {
  return map.items.find((p) => (Y.isScalar(p.key) ? String(p.key.value) : String(p.key)) === String(key));
}

/** The node at `path` (null for a key without a value), or undefined when there is none. */
function nodeAt(doc: Y.Document, path: JsonPath): unknown {
  let node: unknown = doc.contents;
  for (const key of path) {
    if (Y.isMap(node)) {
      const pair = findPair(node, key);
      if (!pair) return undefined;
      node = pair.value ?? null;
    } else if (Y.isSeq(node) && typeof key === "number") {
      if (key >= node.items.length) return undefined;
      node = node.items[key] ?? null;
    } else return undefined;
  }
  return node;
}

function nestedValue(path: JsonPath, value: unknown): unknown {
  return path.reduceRight<unknown>((v, k) => (typeof k === "number" ? [v] : { [k]: v }), value);
}

/** The text with one change spliced in, or undefined when it cannot be done in place. */
function splice(text: string, change: JsonChange): string | undefined {
  // (Each splice reads the text afresh: the ranges of a document already spliced would be stale.)
  const doc = Y.parseDocument(text);
  if (doc.errors.length > 0 || change.path.length === 0) return undefined;
  const path = [...change.path];
  const key = path[path.length - 1] as string | number;
  const parentPath = path.slice(0, -1);
  const parent = nodeAt(doc, parentPath);
  const node = nodeAt(doc, path);

  if (change.op === "delete") {
    if (!isBlockCollection(parent) || parent.items.length < 2 || node === undefined) return undefined;
    const item = Y.isMap(parent) ? findPair(parent, key) : undefined;
    const keyNode = Y.isNode(item?.key) ? item.key : undefined;
    const valueNode = Y.isNode(item?.value) ? item.value : undefined;
    const first = Y.isMap(parent) ? keyNode?.range : Y.isNode(node) ? node.range : undefined;
    const last = Y.isMap(parent) ? (valueNode ?? keyNode)?.range : Y.isNode(node) ? node.range : undefined;
    if (!first || !last) return undefined;
    const from = lineStart(text, first[0]);
    const lead = text.slice(from, first[0]);
    if (!(Y.isMap(parent) ? /^\s*$/ : /^\s*-\s+$/).test(lead)) return undefined;
    return text.slice(0, from) + text.slice(pastLine(text, last[2]));
  }

  const value = change.value;
  if (node !== undefined && !(Y.isNode(node) && node.range)) return undefined; // a key without a value
  if (Y.isNode(node) && node.range) {
    const [start, end] = node.range;
    const collection = typeof value === "object" && value !== null;
    if (isBlockCollection(node)) {
      if (!collection || Object.keys(value).length === 0) return undefined;
      const indent = text.slice(lineStart(text, start), start);
      if (!/^[ ]*$/.test(indent) && !/^[ ]*-[ ]+$/.test(indent)) return undefined;
      const col = " ".repeat(start - lineStart(text, start));
      let body = blockText(value, col);
      const after = text.slice(end);
      if (!body.endsWith("\n") && text[end - 1] === "\n") body += "\n";
      return text.slice(0, start) + body + after;
    }
    const inline = collection
      ? Y.stringify(value, { collectionStyle: "flow", lineWidth: 0 }).replace(/\n$/, "")
      : scalarText(value, node);
    if (inline.includes("\n")) return undefined;
    // A block scalar's range takes its last line break: keep one.
    return text.slice(0, start) + inline + (text[end - 1] === "\n" ? "\n" : "") + text.slice(end);
  }

  // A new key or list item: after the last one of the deepest block collection that exists.
  let at = parentPath.length;
  let holder: unknown = parent;
  while (holder === undefined && at > 0) {
    at -= 1;
    holder = nodeAt(doc, parentPath.slice(0, at));
  }
  const rest = path.slice(at);
  const newKey = rest[0] as string | number;
  const newValue = nestedValue(rest.slice(1), value);
  if (holder === null || holder === undefined) {
    if (at !== 0 || typeof newKey !== "string") return undefined;
    const base = text === "" || text.endsWith("\n") ? text : `${text}\n`;
    return base + Y.stringify({ [newKey]: newValue }, { lineWidth: 0 });
  }
  if (!isBlockCollection(holder) || holder.items.length === 0 || !holder.range) return undefined;
  const first = Y.isMap(holder) ? holder.items[0]?.key : holder.items[0];
  const firstItem = Y.isNode(first) ? first : undefined;
  if (!firstItem?.range) return undefined;
  let indent: string;
  let entry: string;
  if (Y.isMap(holder)) {
    if (typeof newKey !== "string") return undefined;
    indent = text.slice(lineStart(text, firstItem.range[0]), firstItem.range[0]);
    if (!/^[ ]*$/.test(indent)) return undefined;
    entry = blockText({ [newKey]: newValue }, indent);
  } else {
    if (newKey !== holder.items.length) return undefined;
    const lead = text.slice(lineStart(text, firstItem.range[0]), firstItem.range[0]);
    const m = /^([ ]*)-[ ]+$/.exec(lead);
    if (!m) return undefined;
    indent = m[1] as string;
    entry = blockText([newValue], indent);
  }
  const where = pastLine(text, holder.range[1]);
  const before = text.slice(0, where);
  return `${before}${before.endsWith("\n") || before === "" ? "" : "\n"}${indent}${entry}\n${text.slice(where)}`;
}

/**
 * The comment lines above item `index` of `coll`, moved to what follows it before it is removed: the
 * comment above the first key is often the file's own header.
 */
function keepCommentOf(doc: Y.Document, coll: Y.YAMLMap | Y.YAMLSeq, index: number): void {
  const holderOf = (i: number): unknown => {
    const it = coll.items[i];
    return Y.isPair(it) ? it.key : it;
  };
  const holder = holderOf(index);
  const comment = Y.isNode(holder) ? holder.commentBefore : undefined;
  if (!comment) return;
  const join = (a: string | null | undefined, b: string) => (a ? `${a}\n${b}` : b);
  const next = holderOf(index + 1);
  if (Y.isNode(next)) next.commentBefore = join(comment, next.commentBefore ?? "").replace(/\n$/, "");
  else if (coll === doc.contents) doc.commentBefore = join(doc.commentBefore, comment);
  else coll.comment = join(coll.comment, comment);
}

/** Makes the change in the collection `coll` (path relative to it), creating what is missing. */
function changeIn(doc: Y.Document, coll: Y.YAMLMap | Y.YAMLSeq, path: JsonPath, c: JsonChange): void {
  const [key, ...rest] = path as (string | number)[];
  if (key === undefined) return;
  const item = Y.isMap(coll) ? findPair(coll, key) : undefined;
  const current: unknown = Y.isMap(coll) ? item?.value : coll.items[key as number];
  if (rest.length > 0 && (Y.isMap(current) || Y.isSeq(current))) return changeIn(doc, current, rest, c);
  if (rest.length === 0 && c.op === "delete") {
    const index = Y.isMap(coll) ? coll.items.indexOf(item as Y.Pair) : (key as number);
    if (index < 0) return;
    keepCommentOf(doc, coll, index);
    coll.items.splice(index, 1);
    return;
  }
  if (c.op === "delete") return;
  const node = doc.createNode(nestedValue(rest, c.value));
  if (item) item.value = node;
  else if (Y.isMap(coll)) coll.items.push(doc.createPair(String(key), node) as Y.Pair);
  else coll.items[key as number] = node;
}

/** The whole text re-rendered from yaml's document model with the change made (comments kept). */
function rerender(text: string, c: JsonChange): string {
  const doc = Y.parseDocument(text);
  if (c.path.length === 0 || !(Y.isMap(doc.contents) || Y.isSeq(doc.contents))) {
    // A new whole document (or one that was empty): what the change leaves at the top.
    const top = applyJsonChange(doc.contents === null ? {} : doc.toJS(), c);
    doc.contents = doc.createNode(top ?? {}) as typeof doc.contents;
  } else changeIn(doc, doc.contents, c.path, c);
  return doc.toString({ lineWidth: 0 });
}

/** The config reader's value of `text`, or undefined when it cannot read it. */
function readBack(text: string): unknown {
  try {
    return parseYamlOrJson(text) ?? {};
  } catch {
    return undefined;
  }
}

/** A file's new text and what the config reader makes of it. */
export interface EditedText {
  text: string;
  value: unknown;
}

/**
 * The YAML text with the changes made, each in place where it can be (see the module comment);
 * `value` is what the text says now, as the config reader reads it. `current` is what it said before.
 */
export function editYamlText(text: string, changes: readonly JsonChange[], current: unknown): EditedText {
  let value: unknown = current;
  let out = text;
  for (const c of changes) {
    value = applyJsonChange(value, c) ?? {};
    const spliced = splice(out, c);
    if (spliced !== undefined && sameJson(readBack(spliced), value)) {
      out = spliced;
      continue;
    }
    const rendered = rerender(out, c);
    if (!sameJson(readBack(rendered), value))
      throw new UneditableText(`cannot write the change at /${c.path.join("/")} into the YAML text`);
    out = rendered;
  }
  return { text: out, value };
}

/** The JSON text with the changes made: JSON again, indented as it was. */
export function editJsonText(text: string, changes: readonly JsonChange[], current: unknown): EditedText {
  const value = changes.reduce<unknown>((v, c) => applyJsonChange(v, c), current);
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? (text.trim().includes("\n") ? 2 : 0);
  return { text: JSON.stringify(value, null, indent) + (text.endsWith("\n") ? "\n" : ""), value };
}

/** Whether a config file's text is JSON (then it stays JSON). */
export function isJsonText(text: string): boolean {
  if (!/^\s*[{[]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
