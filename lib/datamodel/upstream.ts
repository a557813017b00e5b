/**
 * How the schema meets upstream Knot Resolver 6.4's in its details: a key upstream types
 * `Optional[...]` takes null as "not set", and a spelling of Knot Resolver 6.0.16 and older
 * (which 6.0.17 and later refuse) is refused here with its new spelling and `kresctl migrate`.
 */
import { z } from "zod";

/** Where every refusal of a 6.0.x spelling sends the operator. */
export const MIGRATE_HINT = "'kresctl migrate' rewrites a Knot Resolver 6.0 configuration";

/** `<old> is ... now <now>`: a key or value 6.0.17 renamed or reshaped. */
export function renamedIn6(old: string, now: string): string {
  return `${old} is the Knot Resolver 6.0.16 spelling; since 6.0.17 it is ${now} (${MIGRATE_HINT})`;
}

/** `<old> was removed ...`: a key 6.0.17 dropped. */
export function removedIn6(old: string, why?: string): string {
  return `${old} was removed in Knot Resolver 6.0.17${why ? ` (${why})` : ""}; delete it (${MIGRATE_HINT})`;
}

// Retired keys stay in the zod shapes (so that they get their own message rather than "unknown
// key") but are left out of the JSON Schema, whose property names are upstream's.
const retired = new WeakSet<object>();

/** A 6.0.x key that 6.4 no longer has: absent is fine, any value is refused with `message`. */
export function retiredKey(message: string) {
  const schema = z.never({ error: message }).optional();
  retired.add(schema);
  return schema;
}

/** Whether a schema is one of `retiredKey`'s (for the JSON Schema generator). */
export function isRetiredKey(schema: unknown): boolean {
  return typeof schema === "object" && schema !== null && retired.has(schema);
}

/**
 * The error option of an `enable` object that 6.0 also took as a boolean (or null): such a value
 * is named with its 6.4 spelling; anything else gets zod's message.
 */
export function enableObjectError(name: string) {
  return (iss: { input?: unknown }): string | undefined => {
    const v = iss.input;
    if (typeof v === "boolean") return renamedIn6(`'${name}: ${v}'`, `'${name}: {enable: ${v}}'`);
    if (v === null) return renamedIn6(`'${name}: null'`, `'${name}: {enable: false}'`);
    return `expected an object of ${name} settings`;
  };
}

/** Upstream's `Optional[T] = None`: absent or null, both read as undefined. */
export function orNull<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}
