import { z } from "zod";
import {
  domainName,
  freeText,
  intNonNegative,
  intPositive,
  percent,
  readableFile,
  sizeBytes,
  sizeMBytes,
  sizeUnit,
  timeMicros,
  timeMillis,
  timeSeconds,
  timeUnit,
  writableDir,
} from "../../types/index.js";
import {
  UNSUPPORTED,
  CACHE_SIZE_MIN,
  TTL_MAX_SECONDS,
  NS_TIMEOUT_MAX_MS,
  PREFILL_INTERVAL_MIN_SECONDS,
} from "../../kresd56.js";
import { enableObjectError, orNull } from "../../upstream.js";

/** Upstream's default cache directory (Debian's knot-resolver package creates it). */
export const DEFAULT_CACHE_DIR = "/var/cache/knot-resolver";

/**
 * Converts a unit value for a check; undefined when the value is not valid. zod runs checks even
 * after an earlier check of the same value failed, so checks must not trust their input.
 */
function converted(convert: (v: string) => number, value: unknown): number | undefined {
  if (typeof value !== "string") return undefined;
  const n = convert(value);
  return Number.isNaN(n) ? undefined : n;
}

const prefillItemSchema = z
  .strictObject({
    origin: domainName.meta({
      description: "Zone whose data is imported; only the root zone '.' is supported.",
    }),
    url: freeText.meta({ description: "HTTPS URL of the zone file to import." }),
    "refresh-interval": timeUnit
      .default("1d")
      .meta({ description: "How often the zone file is downloaded and imported again." }),
    "ca-file": orNull(readableFile).meta({
      description: "CA bundle used to authenticate the HTTPS server; the system's by default.",
    }),
  })
  .superRefine((item, ctx) => {
    if (typeof item.origin === "string" && item.origin !== ".") {
      ctx.addIssue({
        code: "custom",
        path: ["origin"],
        message: `cache prefilling supports only the root zone '.', got '${item.origin}'`,
      });
    }
    if (typeof item.url === "string" && !item.url.startsWith("https://")) {
      ctx.addIssue({
        code: "custom",
        path: ["url"],
        message: `${UNSUPPORTED}: the prefill module downloads only over HTTPS, expected an 'https://' URL, got '${item.url}'`,
      });
    }
    const interval = converted(timeSeconds, item["refresh-interval"]);
    if (interval !== undefined && interval < PREFILL_INTERVAL_MIN_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["refresh-interval"],
        message: `${UNSUPPORTED}: the prefill module refuses refresh intervals shorter than 1h, got '${item["refresh-interval"]}'`,
      });
    }
  })
  .meta({ description: "Periodic import of a zone file downloaded over HTTPS into the cache." });

const garbageCollectorSchema = z
  .strictObject(
    {
      enable: z.boolean().default(true).meta({ description: "Run the garbage collector." }),
      interval: timeUnit.default("1s").meta({ description: "Pause between two garbage collection runs." }),
      threshold: percent.default(80).meta({ description: "Cache usage (percent) that starts a collection." }),
      release: percent
        .default(10)
        .meta({ description: "Percent of the used cache that a collection frees." }),
      "temp-keys-space": sizeUnit
        .default("0M")
        .meta({ description: "Memory limit for keys copied during a collection; 0 means unlimited." }),
      "rw-deletes": intNonNegative
        .default(100)
        .meta({ description: "Records deleted per read-write transaction at most; 0 means unlimited." }),
      "rw-reads": intNonNegative
        .default(200)
        .meta({ description: "Records read per read-write transaction at most; 0 means unlimited." }),
      "rw-duration": timeUnit
        .default("0us")
        .meta({ description: "Longest read-write transaction; 0 means unlimited." }),
      "rw-delay": timeUnit.default("0us").meta({ description: "Pause between two read-write transactions." }),
      "dry-run": z.boolean().default(false).meta({ description: "Only report what would be deleted." }),
    },
    { error: enableObjectError("garbage-collector") },
  )
  .superRefine((gc, ctx) => {
    // kres-cache-gc parses its numeric options as C longs; keep them exact integers.
    const numbers: [keyof typeof gc, number | undefined][] = [
      ["interval", converted(timeMillis, gc.interval)],
      ["temp-keys-space", converted(sizeMBytes, gc["temp-keys-space"])],
      ["rw-duration", converted(timeMicros, gc["rw-duration"])],
      ["rw-delay", converted(timeMicros, gc["rw-delay"])],
    ];
    for (const [key, value] of numbers) {
      if (value !== undefined && !Number.isSafeInteger(value)) {
        ctx.addIssue({
          code: "custom",
          path: [key],
          message: `'${String(gc[key])}' is too large for kres-cache-gc`,
        });
      }
    }
  })
  .prefault({})
  .meta({ description: "The cache garbage collector (kres-cache-gc)." });

const predictionSchema = z
  .strictObject(
    {
      enable: z
        .boolean()
        .default(false)
        .meta({ description: "Prefetch records predicted from query patterns." }),
      window: timeUnit.default("15m").meta({ description: "Length of one sampling window (whole minutes)." }),
      period: intPositive.default(24).meta({ description: "Number of sampling windows remembered." }),
    },
    { error: enableObjectError("prediction") },
  )
  .prefault({})
  .meta({
    description: "Prefetch records predicted from repetitive query patterns; off unless 'enable: true'.",
  });

const prefetchSchema = z
  .strictObject({
    expiring: z
      .boolean()
      .default(false)
      .meta({ description: "Refresh records about to expire when they are used." }),
    prediction: predictionSchema,
  })
  .superRefine((p, ctx) => {
    // A prediction that is off says nothing kresd has to do: only an enabled one is checked.
    if (!p.prediction.enable) return;
    if (!p.expiring) {
      ctx.addIssue({
        code: "custom",
        path: ["expiring"],
        message: `${UNSUPPORTED}: its predict module always prefetches expiring records too; set 'expiring: true' to use 'prediction'`,
      });
    }
    const window = p.prediction.window;
    const micros = converted(timeMicros, window);
    if (micros !== undefined && (micros < 60e6 || micros % 60e6 !== 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["prediction", "window"],
        message: `${UNSUPPORTED}: the prediction window is a whole number of minutes (at least 1m), got '${window}'`,
      });
    }
  })
  .prefault({})
  .meta({ description: "Keep the cache hot by prefetching records." });

export const cacheSchema = z
  .strictObject({
    storage: writableDir
      .prefault(DEFAULT_CACHE_DIR)
      .meta({ description: "Directory of the cache database (LMDB), shared by all workers." }),
    "size-max": sizeUnit.default("100M").meta({ description: "Maximum size of the cache database." }),
    "garbage-collector": garbageCollectorSchema,
    "ttl-min": timeUnit
      .default("5s")
      .meta({ description: "Records are kept in the cache at least this long." }),
    "ttl-max": timeUnit
      .default("1d")
      .meta({ description: "Records are kept in the cache at most this long." }),
    "ns-timeout": timeUnit
      .default("1000ms")
      .meta({ description: "How long a name server that gave no useful answer is avoided." }),
    prefill: orNull(z.array(prefillItemSchema, { error: "expected a list of prefill entries" })).meta({
      description: "Zones imported into the cache periodically.",
    }),
    prefetch: prefetchSchema,
  })
  .superRefine((c, ctx) => {
    const bytes = converted(sizeBytes, c["size-max"]);
    if (bytes !== undefined && (bytes < CACHE_SIZE_MIN || !Number.isSafeInteger(bytes))) {
      ctx.addIssue({
        code: "custom",
        path: ["size-max"],
        message: `${UNSUPPORTED}: the cache size must be between 8K and ${Number.MAX_SAFE_INTEGER}B, got '${c["size-max"]}'`,
      });
    }
    const min = converted(timeSeconds, c["ttl-min"]);
    const max = converted(timeSeconds, c["ttl-max"]);
    if (min !== undefined && max !== undefined && min > max) {
      ctx.addIssue({
        code: "custom",
        path: ["ttl-max"],
        message: `'ttl-max' (${c["ttl-max"]}) can't be smaller than 'ttl-min' (${c["ttl-min"]}), counted in whole seconds`,
      });
    }
    if (max !== undefined && max < 1) {
      ctx.addIssue({
        code: "custom",
        path: ["ttl-max"],
        message: `${UNSUPPORTED}: its cache.max_ttl() takes at least 1 second, got '${c["ttl-max"]}'`,
      });
    }
    if (max !== undefined && max > TTL_MAX_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["ttl-max"],
        message: `${UNSUPPORTED}: TTLs are limited to ${TTL_MAX_SECONDS} seconds, got '${c["ttl-max"]}'`,
      });
    }
    const nsTimeout = converted(timeMillis, c["ns-timeout"]);
    if (nsTimeout !== undefined && (nsTimeout < 1 || nsTimeout > NS_TIMEOUT_MAX_MS)) {
      ctx.addIssue({
        code: "custom",
        path: ["ns-timeout"],
        message: `${UNSUPPORTED}: ns-timeout must be between 1ms and ${NS_TIMEOUT_MAX_MS}ms, got '${c["ns-timeout"]}'`,
      });
    }
    const seen = new Set<string>();
    const prefill: unknown = c.prefill;
    (Array.isArray(prefill) ? prefill : []).forEach((item: { origin?: unknown } | null, i) => {
      if (typeof item?.origin !== "string") return;
      if (seen.has(item.origin)) {
        ctx.addIssue({
          code: "custom",
          path: ["prefill", i, "origin"],
          message: `${UNSUPPORTED}: only one prefill entry per zone, '${item.origin}' is already configured`,
        });
      }
      seen.add(item.origin);
    });
  })
  .prefault({})
  .meta({ description: "DNS cache: storage, size, TTL bounds, garbage collection, prefill and prefetch." });

export type CacheConfig = z.output<typeof cacheSchema>;
