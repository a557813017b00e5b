import { z } from "zod";
import { kresConfigSchema } from "./config.js";
import { withValidationContext } from "./context.js";
import { withoutOldSpellings } from "./old-spellings.js";

/**
 * Keys of ours that upstream Knot Resolver 6.4.2 does not have, listed in the JSON Schema as
 * `x-extensions` (each one's description says so too): an upstream config never needs them.
 */
export const EXTENSION_KEYS: readonly string[] = [
  "/fleet",
  "/history",
  "/management/persist",
  "/management/token-file",
];

/** JSON Schema of the config as users write it, generated from the zod schemas. */
export function configJsonSchema(): Record<string, unknown> {
  const schema = withoutOldSpellings(
    withValidationContext({ strict: false }, () =>
      z.toJSONSchema(kresConfigSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }),
    ),
  ) as Record<string, unknown>;
  return { ...schema, "x-extensions": [...EXTENSION_KEYS] };
}
