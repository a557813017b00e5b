import { z } from "zod";
import { intPositive, timeUnit } from "../../types/index.js";
import { unsupported } from "../../kresd56.js";
import { orNull } from "../../upstream.js";

// The `rate-limiting` section, as in Knot Resolver 6.4: off unless `enable: true` (in 6.0 the
// section's presence turned it on; now a section without `enable` is off, as upstream).
// kresd 5.6 has no rate limiting at all (no ratelimiting_init(), no equivalent module), so the
// section validates as upstream's and `enable: true` is then refused.

/** Upstream's bound: counters are 32-bit with up to 768 hosts' worth of weight per prefix. */
export const MAX_INSTANT_LIMIT = Math.floor(2 ** 32 / 768) - 1;

const slip = z
  .number({ error: "expected an integer" })
  .int({ error: "expected an integer" })
  .min(0, { error: "must be at least 0" })
  .max(32, { error: "must be at most 32" });

export const rateLimitingSchema = z
  .strictObject({
    enable: z.boolean().default(false).meta({
      description: "Limit the rate of answers per client; kresd 5.6 cannot, so 'true' is refused.",
    }),
    "rate-limit": orNull(intPositive).meta({
      description: "Maximal number of queries per second from a single host (required to enable).",
    }),
    "instant-limit": intPositive
      .default(50)
      .meta({ description: "Maximal number of queries at a single point in time from a single host." }),
    capacity: intPositive
      .default(524288)
      .meta({ description: "Expected maximal number of limited hosts/networks at the same time." }),
    slip: slip.default(2).meta({
      description:
        "One in this many restricted answers is sent truncated, the others are dropped (0: drop all).",
    }),
    "log-period": timeUnit
      .default("0s")
      .meta({ description: "Minimal time between two log messages; '0s' disables logging." }),
    "dry-run": z.boolean().default(false).meta({ description: "Only classify and log, restrict nothing." }),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.enable && cfg["rate-limit"] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["rate-limit"],
        message: "'rate-limit' has to be configured to enable rate limiting",
      });
    }
    if (cfg["instant-limit"] > MAX_INSTANT_LIMIT) {
      ctx.addIssue({
        code: "custom",
        path: ["instant-limit"],
        message: `'instant-limit' has to be in range 1..${MAX_INSTANT_LIMIT}, got ${cfg["instant-limit"]}`,
      });
    }
    const rate = cfg["rate-limit"];
    if (rate !== undefined && rate > 1000 * cfg["instant-limit"]) {
      ctx.addIssue({
        code: "custom",
        path: ["rate-limit"],
        message: `'rate-limit' has to be in range 1..(1000 * instant-limit) = 1..${1000 * cfg["instant-limit"]}, got ${rate}`,
      });
    }
    if (cfg.enable) {
      ctx.addIssue({
        code: "custom",
        path: ["enable"],
        message: unsupported("it has no rate limiting (a Knot Resolver 6 feature)"),
      });
    }
  })
  .prefault({})
  .meta({ description: "Rate limiting of answers per client host/network; off unless 'enable: true'." });

export type RateLimitingConfig = z.output<typeof rateLimitingSchema>;
