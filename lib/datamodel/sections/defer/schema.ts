import { z } from "zod";
import { timeUnit } from "../../types/index.js";
import { unsupported } from "../../kresd56.js";
import { renamedKey } from "../../old-spellings.js";

// The `defer` section (request prioritization), as in Knot Resolver 6.4, except its default:
// upstream turns defer on by default since 6.1, but kresd 5.6 has no defer (no defer_init(), no
// CPU-time accounting per source), so here it is off unless asked for, and asking is refused.

export const deferSchema = z
  .strictObject({
    enable: z.boolean().default(false).meta({
      description:
        "Use request prioritization. Off by default here (upstream: on since 6.1): kresd 5.6 has no request prioritization, so 'true' is refused.",
    }),
    "log-period": timeUnit.default("0s").meta({
      description: "Minimal time between two log messages; '0s' disables logging. Unused while defer is off.",
    }),
    enabled: renamedKey("defer/enable"),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.enable) {
      ctx.addIssue({
        code: "custom",
        path: ["enable"],
        message: unsupported("it has no request prioritization (defer is a Knot Resolver 6 feature)"),
      });
    }
  })
  .prefault({})
  .meta({
    description:
      "Request prioritization (defer) against DoS. Off by default here, unlike upstream 6.1+: kresd 5.6 cannot do it.",
  });

export type DeferConfig = z.output<typeof deferSchema>;
