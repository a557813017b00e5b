/** Entity tags for the config API: stable hashes of data, and RFC 9110 If-Match / If-None-Match lists. */
import { createHash } from "node:crypto";
import { UtilsError } from "./errors.js";

/**
 * JSON text with object keys sorted, so equal data always serializes the same however it was built.
 * Follows JSON.stringify's rules: toJSON honoured, undefined/function members skipped, such array
 * items written as null; undefined when the value itself has no JSON text.
 */
function canonicalJson(value: unknown): string | undefined {
  if (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { toJSON?: unknown }).toJSON === "function"
  )
    value = (value as { toJSON: () => unknown }).toJSON();
  if (Array.isArray(value)) return "[" + value.map((v) => canonicalJson(v) ?? "null").join(",") + "]";
  if (typeof value === "object" && value !== null) {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const text = canonicalJson((value as Record<string, unknown>)[key]);
      if (text !== undefined) members.push(JSON.stringify(key) + ":" + text);
    }
    return "{" + members.join(",") + "}";
  }
  // TypeScript says string, but undefined, functions and symbols give undefined.
  return JSON.stringify(value) as string | undefined;
}

/** A bare tag (no quotes) that depends on the data only, not on key order; 128 bits of sha256. */
export function structuralEtag(value: unknown): string {
  // A top-level undefined has no JSON text; hash it as null rather than the string "undefined".
  const text = canonicalJson(value) ?? "null";
  return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

/** The ETag header value: the tag in double quotes (RFC 9110 entity-tag, strong). */
export function formatEtag(tag: string): string {
  // etagc = %x21 / %x23-7E / obs-text: anything else would make an invalid (or injected) header.
  if (!/^[\x21\x23-\x7e\x80-\xff]*$/.test(tag))
    throw new TypeError(`invalid entity tag: ${JSON.stringify(tag)}`);
  return `"${tag}"`;
}

type ListedTag = { opaque: string } | "*";

/** An unquoted tag, matched where the scan stands (sticky: no copy of the rest of the header). */
const UNQUOTED = /[^\s,]*/y;

/**
 * The entity-tags of an If-Match / If-None-Match list. Lenient: the weak prefix dropped (we compare
 * weakly), unquoted tokens taken whole, an unterminated quote running to the next comma.
 */
function listedTags(header: string): ListedTag[] {
  const tags: ListedTag[] = [];
  let i = 0;
  while (i < header.length) {
    // Separators: commas and optional whitespace, empty list elements allowed (RFC 9110 §5.6.1).
    if (/[\s,]/.test(header[i]!)) {
      i++;
      continue;
    }
    if (header.startsWith("W/", i) || header.startsWith("w/", i)) i += 2;
    if (header[i] === '"') {
      // A quoted tag may contain commas, so only a missing closing quote falls back to the comma.
      let end = header.indexOf('"', i + 1);
      if (end < 0) end = header.indexOf(",", i + 1);
      if (end < 0) end = header.length;
      tags.push({ opaque: header.slice(i + 1, end) });
      i = end + 1;
    } else {
      // Some clients send tags unquoted; take the token up to the next separator.
      UNQUOTED.lastIndex = i;
      const token = UNQUOTED.exec(header)![0];
      tags.push(token === "*" ? "*" : { opaque: token });
      i += token.length;
    }
  }
  return tags;
}

/**
 * Whether an If-Match / If-None-Match header names this tag, or is "*" (whether "*" should match
 * depends on the resource existing, which is the caller's business). Weak comparison, as
 * If-None-Match requires; fine for If-Match too since our tags are always strong. `tag` is bare,
 * though a formatEtag value is accepted too. No header matches nothing.
 */
export function etagMatches(header: string | undefined, tag: string): boolean {
  if (header === undefined) return false;
  const wanted = /^(?:[Ww]\/)?"(.*)"$/.exec(tag)?.[1] ?? tag;
  return listedTags(header).some((t) => t === "*" || t.opaque === wanted);
}

/** A request's conditions on the config's ETag, as sent in If-Match / If-None-Match. */
export interface Preconditions {
  ifMatch?: string;
  ifNoneMatch?: string;
}

/** A conditional request (If-Match / If-None-Match) whose condition does not hold (HTTP 412). */
export class PreconditionFailed extends UtilsError {
  override readonly status = 412;
}

/**
 * Checks a request's conditions against the config's current tag: PreconditionFailed when If-Match
 * names another tag, or when a change's If-None-Match names this one; "not-modified" (HTTP 304)
 * when a read's If-None-Match names it. A read looks at If-None-Match first, a change at If-Match
 * first (RFC 9110 §13.2.2 puts If-Match first for both; reads keep the order they always had).
 */
export function checkPreconditions(
  tag: string,
  c: Preconditions,
  request: "read" | "change",
): "not-modified" | "proceed" {
  if (request === "read" && etagMatches(c.ifNoneMatch, tag)) return "not-modified";
  if (c.ifMatch !== undefined && !etagMatches(c.ifMatch, tag))
    throw new PreconditionFailed(`If-Match does not match the current configuration (ETag "${tag}")`);
  if (etagMatches(c.ifNoneMatch, tag))
    throw new PreconditionFailed(`If-None-Match matches the current configuration (ETag "${tag}")`);
  return "proceed";
}
