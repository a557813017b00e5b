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
  const text = Y.stringify(value, quote ? { defaultStringType: oldType } : {}).replace(/\n$/, "");
  return text.includes("\n") ? JSON.stringify(value) : text;
}

/** value in block style for a place at column `indent`: its first line unindented, no final newline. */
function blockText(value: unknown, indent: string): string {
  return indentLines(Y.stringify(value, { lineWidth: 0 }).replace(/\n$/, ""), indent);
}

function isBlockCollection(node: unknown): node is Y.YAMLMap | Y.YAMLSeq {
  return (Y.isMap(node) || Y.isSeq(node)) && !node.flow;
}

function nestedValue(path: JsonPath, value: unknown): unknown {
  return path.reduceRight<unknown>((v, k) => (typeof k === "number" ? [v] : { [k]: v }), value);
}

/** The text with one change spliced in, or undefined when it cannot be done in place. */
function splice(text: string, change: JsonChange): string | undefined {
  const doc = Y.parseDocument(text);
  if (doc.errors.length > 0 || change.path.length === 0) return undefined;
  const path = [...change.path];
  const key = path[path.length - 1] as string | number;
  const parentPath = path.slice(0, -1);
  const parent = parentPath.length === 0 ? doc.contents : doc.getIn(parentPath, true);
  const node = isBlockCollection(parent) ? parent.get(key, true) : undefined;

  if (change.op === "delete") {
    if (!isBlockCollection(parent) || parent.items.length < 2 || node === undefined) return undefined;
    const item = Y.isMap(parent) ? parent.items.find((p) => Y.isScalar(p.key) && String(p.key.value) === String(key)) : undefined;
    const first = Y.isMap(parent) ? (item?.key as Y.Node | undefined)?.range : (node as Y.Node).range;
    const last = Y.isMap(parent) ? ((item?.value as Y.Node | null) ?? (item?.key as Y.Node | undefined))?.range : (node as Y.Node).range;
    if (!first || !last) return undefined;
    const from = lineStart(text, first[0]);
    const lead = text.slice(from, first[0]);
    if (!(Y.isMap(parent) ? /^\s*$/ : /^\s*-\s+$/).test(lead)) return undefined;
    return text.slice(0, from) + text.slice(pastLine(text, last[2]));
  }

  const value = change.value;
  if (node !== undefined && Y.isNode(node) && node.range) {
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
    return text.slice(0, start) + inline + text.slice(end);
  }

  // A new key or list item: after the last one of the deepest block collection that exists.
  let at = parentPath.length;
  let holder: unknown = parent;
  while (holder === undefined && at > 0) {
    at -= 1;
    holder = at === 0 ? doc.contents : doc.getIn(parentPath.slice(0, at), true);
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
  const firstItem = Y.isMap(holder) ? (holder.items[0]?.key as Y.Node | undefined) : (holder.items[0] as Y.Node | undefined);
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

/** The whole text re-rendered from yaml's document model with the change made (comments kept). */
function rerender(text: string, change: JsonChange): string {
  const doc = Y.parseDocument(text);
  const path = [...change.path];
  if (path.length === 0) {
    if (change.op === "delete") return "";
    doc.contents = doc.createNode(change.value) as typeof doc.contents;
  } else if (change.op === "delete") doc.deleteIn(path);
  else doc.setIn(path, doc.createNode(change.value));
  return doc.toString({ lineWidth: 0 });
}

function parsesTo(text: string, expected: unknown): boolean {
  try {
    return sameJson(parseYamlOrJson(text) ?? {}, expected ?? {});
  } catch {
    return false;
  }
}

/** The YAML text with the changes made, each in place where it can be (see the module comment). */
export function editYamlText(text: string, changes: readonly JsonChange[]): string {
  let value: unknown = parseYamlOrJson(text) ?? {};
  let out = text;
  for (const change of changes) {
    value = applyJsonChange(value, change);
    const spliced = splice(out, change);
    if (spliced !== undefined && parsesTo(spliced, value)) {
      out = spliced;
      continue;
    }
    const rendered = rerender(out, change);
    if (!parsesTo(rendered, value))
      throw new UneditableText(`cannot write the change at /${change.path.join("/")} into the YAML text`);
    out = rendered;
  }
  return out;
}

/** The JSON text with the changes made: JSON again, indented as it was. */
export function editJsonText(text: string, changes: readonly JsonChange[]): string {
  let value: unknown = JSON.parse(text);
  for (const change of changes) value = applyJsonChange(value, change);
  const indent = /\n([ \t]+)\S/.exec(text)?.[1] ?? (text.trim().includes("\n") ? 2 : 0);
  return JSON.stringify(value, null, indent) + (text.endsWith("\n") ? "\n" : "");
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
