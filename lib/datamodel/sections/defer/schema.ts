import { z } from "zod";
import { timeMicros, timeUnit } from "../../types/index.js";
import { UNSUPPORTED, unsupported } from "../../kresd56.js";

// The `defer` section (request prioritization), as in Knot Resolver 6.0.10–6.0.16.
// kresd 5.6 has no defer (no defer_init(), no CPU-time accounting per source), so only the
// defaults validate: `enabled: false` and a `log-period` of zero.

export const deferSchema = z
  .strictObject({
    enabled: z.boolean().default(false).meta({ description: "Use request prioritization." }),
    "log-period": timeUnit
      .default("0s")
      .meta({ description: "Minimal time between two log messages; '0s' disables logging." }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.enabled) {
      ctx.addIssue({
        code: "custom",
        path: ["enabled"],
        message: unsupported("it has no request prioritization (defer is a Knot Resolver 6 feature)"),
      });
    }
    if (timeMicros(cfg["log-period"]) !== 0) {
      ctx.addIssue({
        code: "custom",
        path: ["log-period"],
        message: `${UNSUPPORTED}: it has no request prioritization to log about (got '${cfg["log-period"]}', only '0s' is accepted)`,
      });
    }
  })
  .prefault({})
  .meta({ description: "Request prioritization (defer) against DoS; kresd 5.6 cannot do it." });

export type DeferConfig = z.output<typeof deferSchema>;
