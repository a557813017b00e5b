import { z } from "zod";
import { kresConfigSchema } from "./config.js";
import { withValidationContext } from "./context.js";
import { isRetiredKey } from "./upstream.js";

/** JSON Schema of the config as users write it, generated from the zod schemas. */
export function configJsonSchema(): Record<string, unknown> {
  return withValidationContext({ strict: false }, () =>
    z.toJSONSchema(kresConfigSchema, {
      io: "input",
      unrepresentable: "any",
      target: "draft-2020-12",
      override: ({ zodSchema, jsonSchema }) => {
        // Keys of 6.0.x kept only to refuse them by their new spelling are no property of the schema.
        const def = zodSchema._zod.def;
        if (def.type !== "object" || !jsonSchema.properties) return;
        for (const [key, schema] of Object.entries(def.shape)) {
          if (isRetiredKey(schema)) delete jsonSchema.properties[key];
        }
      },
    }),
  ) as Record<string, unknown>;
}
