import { toPointer } from "../utils/json-pointer.js";

/**
 * Keys that Knot Resolver 6.0.x configs used and 6.4 no longer has. The schemas know only today's
 * keys (so their shapes and the JSON Schema are upstream's); when validation finds one of these
 * unknown keys, the problem names the new spelling instead of "unknown key".
 */

const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

/** Refusal of a key renamed since 6.0; `now` is the current spelling (a path from the root). */
export function renamedKey(now: string): string {
  return `renamed to '${now}' in Knot Resolver 6.x; ${MIGRATE}`;
}

/** Refusal of a key that Knot Resolver 6.x removed; `why` says what to do instead, if anything. */
export function removedKey(why?: string): string {
  return `removed in Knot Resolver 6.x${why ? ` (${why})` : ""}; ${MIGRATE}`;
}

/** Refusal of a value written the 6.0 way, e.g. `proxy-protocol: false`; `now` is today's form. */
export function oldValue(old: string, now: string): string {
  return `'${old}' is the Knot Resolver 6.0 spelling of '${now}'; ${MIGRATE}`;
}

/** JSON pointers of the old keys ('*' for any list index), each with its message. */
export const OLD_SPELLINGS: ReadonlyMap<string, string> = new Map([
  ["/max-workers", removedKey("'workers' alone sets the number of workers, up to 10 per CPU")],
  ["/webmgmt", removedKey("the management API is configured in 'management'")],
  ["/network/tls/files-watchdog", renamedKey("network/tls/watchdog")],
  ["/network/tls/auto-discovery", removedKey()],
  ["/local-data/root-fallback-addresses", removedKey()],
  ["/local-data/root-fallback-addresses-files", removedKey()],
]);

/** What to say of an unknown key at `path` when it is an old spelling; undefined otherwise. */
export function oldSpelling(path: readonly PropertyKey[]): string | undefined {
  return OLD_SPELLINGS.get(toPointer(path.map((p) => (typeof p === "number" ? "*" : String(p)))));
}
