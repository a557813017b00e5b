import { z } from "zod";
import { forwardServersSchema } from "../forward/schema.js";
import { UNSUPPORTED } from "../../kresd56.js";

/**
 * Knot Resolver 6.0.16's `fallback`: when a query cannot reach any upstream (authoritative)
 * server in time, forward it to these servers instead. Upstream implements it with a kresd 6
 * module ('fallback') that kresd 5.6 does not have, so it can be configured but not enabled.
 */
export const fallbackSchema = z
  .strictObject({
    enable: z
      .boolean()
      .default(false)
      .meta({ description: "Forward queries to 'servers' when no upstream server can be reached." }),
    servers: forwardServersSchema
      .optional()
      .meta({ description: "Fallback servers, in the same form as forward servers." }),
  })
  .superRefine((fb, ctx) => {
    if (!fb.enable) return;
    if (fb.servers === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["servers"],
        message: "'servers' is required when fallback is enabled",
      });
    }
    ctx.addIssue({
      code: "custom",
      path: ["enable"],
      message: `${UNSUPPORTED}: fallback forwarding on resolution failure needs Knot Resolver 6's 'fallback' module, which 5.6 does not have`,
    });
  })
  .prefault({})
  .meta({ description: "Fallback forwarding when the resolver cannot reach upstream servers." });

export type FallbackConfig = z.output<typeof fallbackSchema>;
