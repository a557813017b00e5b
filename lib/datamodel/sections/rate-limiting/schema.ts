import { z } from "zod";
import { intPositive, timeUnit } from "../../types/index.js";
import { unsupported } from "../../kresd56.js";

// The `rate-limiting` section, as in Knot Resolver 6.0.9–6.0.16: absent (the default) or an
// object whose presence turns rate limiting on; `rate-limit` is then required.
// kresd 5.6 has no rate limiting at all (no ratelimiting_init(), no equivalent module), so a
// present section validates structurally and is then refused.

/** Upstream's bound: counters are 32-bit with up to 768 hosts' worth of weight per prefix. */
export const MAX_INSTANT_LIMIT = Math.floor(2 ** 32 / 768) - 1;

const slip = z
  .number({ error: "expected an integer" })
  .int({ error: "expected an integer" })
  .min(0, { error: "must be at least 0" })
  .max(32, { error: "must be at most 32" });

// Like intPositive, with a message of its own when missing.
const rateLimit = z
  .number({
    error: (iss) =>
      iss.input === undefined
        ? "'rate-limit' is required when the rate-limiting section is present"
        : "expected an integer",
  })
  .int({ error: "expected an integer" })
  .min(1, { error: "must be at least 1" });

const rateLimitingObject = z
  .strictObject({
    capacity: intPositive
      .default(524288)
      .meta({ description: "Expected maximal number of limited hosts/networks at the same time." }),
    "rate-limit": rateLimit.meta({
      description: "Maximal number of queries per second from a single host (required).",
    }),
    "instant-limit": intPositive
      .default(50)
      .meta({ description: "Maximal number of queries at a single point in time from a single host." }),
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
    if (cfg["instant-limit"] > MAX_INSTANT_LIMIT) {
      ctx.addIssue({
        code: "custom",
        path: ["instant-limit"],
        message: `'instant-limit' has to be in range 1..${MAX_INSTANT_LIMIT}, got ${cfg["instant-limit"]}`,
      });
    }
    if (cfg["rate-limit"] > 1000 * cfg["instant-limit"]) {
      ctx.addIssue({
        code: "custom",
        path: ["rate-limit"],
        message: `'rate-limit' has to be in range 1..(1000 * instant-limit) = 1..${1000 * cfg["instant-limit"]}, got ${cfg["rate-limit"]}`,
      });
    }
  })
  // Whatever else is wrong inside, a present section is refused as a whole: in 6.0 its
  // presence is what turns rate limiting on.
  .superRefine(
    (_cfg, ctx) => {
      ctx.addIssue({
        code: "custom",
        path: [],
        message: unsupported("it has no rate limiting (Knot Resolver 6 feature); remove the section"),
      });
    },
    { when: (p) => typeof p.value === "object" && p.value !== null && !Array.isArray(p.value) },
  )
  .meta({ description: "Rate limiting of answers per client host/network." });

export const rateLimitingSchema = rateLimitingObject
  .nullish()
  .transform((v) => v ?? undefined)
  .meta({ description: "Rate limiting; absent (the default) means off." });

export type RateLimitingConfig = z.output<typeof rateLimitingSchema>;
