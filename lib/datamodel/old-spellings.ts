import { z } from "zod";

/**
 * Keys that Knot Resolver 6.0.x configs used and 6.4 no longer has. A section lists them in its
 * object so that such a config is refused with the new spelling instead of "unknown key"; the
 * JSON Schema leaves them out (json-schema.ts), so its property names stay upstream's. The old
 * top-level keys are not in the root object (its keys are what kresctl completes and takes for a
 * pointer): OLD_TOP_LEVEL_KEYS names them when validation finds them unknown (load.ts).
 */

/** Marks an old key in the schema's metadata (and, until removed, in the generated JSON Schema). */
export const OLD_SPELLING = "x-kres-old-spelling";

const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

const renamed = (now: string) => `renamed to '${now}' in Knot Resolver 6.x; ${MIGRATE}`;
const removed = (why?: string) => `removed in Knot Resolver 6.x${why ? ` (${why})` : ""}; ${MIGRATE}`;

/** Refusal of a key renamed since 6.0; `now` is the current spelling (a path from the root). */
export function renamedKey(now: string) {
  return oldKey(renamed(now));
}

/** Refusal of a key that Knot Resolver 6.x removed; `why` says what to do instead, if anything. */
export function removedKey(why?: string) {
  return oldKey(removed(why));
}

/** Refusal of a value written the 6.0 way, e.g. `proxy-protocol: false`; `now` is today's form. */
export function oldValue(old: string, now: string): string {
  return `'${old}' is the Knot Resolver 6.0 spelling of '${now}'; ${MIGRATE}`;
}

/** The old top-level keys, each with its refusal. */
export const OLD_TOP_LEVEL_KEYS: ReadonlyMap<string, string> = new Map([
  ["max-workers", removed("'workers' alone sets the number of workers, up to 10 per CPU")],
  ["webmgmt", removed("the management API is configured in 'management'")],
]);

function oldKey(message: string) {
  // Absent passes; anything given fails with the message.
  return z
    .never({ error: message })
    .optional()
    .meta({ [OLD_SPELLING]: true });
}

/** Drops the old keys from a generated JSON Schema, in place; returns it. */
export function withoutOldSpellings<T>(schema: T): T {
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(visit);
      return;
    }
    if (node === null || typeof node !== "object") return;
    const obj = node as Record<string, unknown>;
    const props = obj.properties;
    if (props && typeof props === "object") {
      for (const [key, value] of Object.entries(props as Record<string, unknown>)) {
        if (value && typeof value === "object" && (value as Record<string, unknown>)[OLD_SPELLING]) {
          delete (props as Record<string, unknown>)[key];
        }
      }
    }
    Object.values(obj).forEach(visit);
  };
  visit(schema);
  return schema;
}

/** The keys of an object schema without its old spellings: what a config may use today. */
export function currentKeys(schema: { shape: Record<string, z.ZodType> }): string[] {
  return Object.entries(schema.shape)
    .filter(([, value]) => !value.meta()?.[OLD_SPELLING])
    .map(([key]) => key);
}
