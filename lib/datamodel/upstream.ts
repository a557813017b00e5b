/**
 * Details in which the schema follows upstream Knot Resolver 6.4's: a key upstream types
 * `Optional[...]` takes null as "not set", and an `enable` object that 6.0 also took as a
 * boolean names its 6.4 spelling for one (old keys: ./old-spellings.ts).
 */
import { z } from "zod";

const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

/**
 * The error option of an `enable` object that Knot Resolver 6.0 also took as a boolean (or null
 * for off): such a value is refused with its 6.4 spelling.
 */
export function enableObjectError(name: string) {
  return (iss: { input?: unknown }): string => {
    const v = iss.input;
    if (typeof v === "boolean" || v === null) {
      const enable = v === true;
      return `expected an object; '${name}: ${String(v)}' is the Knot Resolver 6.0 spelling of '${name}: {enable: ${enable}}'; ${MIGRATE}`;
    }
    return `expected an object of ${name} settings`;
  };
}

/** Upstream's `Optional[T] = None`: absent or null, both read as undefined. */
export function orNull<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((v) => v ?? undefined);
}
