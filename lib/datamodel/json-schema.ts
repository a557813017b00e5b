import { z } from "zod";
import { kresConfigSchema } from "./config.js";
import { withValidationContext } from "./context.js";
import { withoutOldSpellings } from "./old-spellings.js";

/** JSON Schema of the config as users write it, generated from the zod schemas. */
export function configJsonSchema(): Record<string, unknown> {
  return withoutOldSpellings(
    withValidationContext({ strict: false }, () =>
      z.toJSONSchema(kresConfigSchema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }),
    ),
  ) as Record<string, unknown>;
}
