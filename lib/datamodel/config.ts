import { z } from "zod";
import { validationContext } from "./context.js";
import { cacheSchema } from "./sections/cache/schema.js";
import { deferSchema } from "./sections/defer/schema.js";
import { dns64Schema } from "./sections/dns64/schema.js";
import { dnssecSchema } from "./sections/dnssec/schema.js";
import { fallbackSchema } from "./sections/fallback/schema.js";
import { fleetSchema } from "./sections/fleet/schema.js";
import { forwardSchema } from "./sections/forward/schema.js";
import { historySchema } from "./sections/history/schema.js";
import { localDataSchema } from "./sections/local-data/schema.js";
import { loggingSchema } from "./sections/logging/schema.js";
import { luaSchema } from "./sections/lua/schema.js";
import { managementSchema } from "./sections/management/schema.js";
import { monitoringSchema } from "./sections/monitoring/schema.js";
import { networkSchema } from "./sections/network/schema.js";
import { optionsSchema } from "./sections/options/schema.js";
import { rateLimitingSchema } from "./sections/rate-limiting/schema.js";
import { viewTags, viewsSchema } from "./sections/views/schema.js";
import { freeTextOrInteger, intPositive, writableDir } from "./types/index.js";
import { NSID_MAX_BYTES, UNSUPPORTED } from "./kresd56.js";

/** Upstream's hard ceiling on workers (besides 10 per CPU). */
export const WORKERS_MAX = 256;
export const DEFAULT_RUNDIR = "/run/knot-resolver";

const workersSchema = z
  .union([z.literal("auto"), intPositive], { error: "expected a positive integer or 'auto'" })
  .default(1)
  .transform((w, ctx) => {
    if (w !== "auto") return w;
    const cpus = validationContext().cpuCount;
    if (cpus >= 1) return cpus;
    ctx.addIssue({ code: "custom", message: "cannot determine the number of CPUs for 'auto'; set a number" });
    return z.NEVER;
  })
  .meta({ description: "Number of kresd workers; 'auto' means one per usable CPU." });

/** The whole Knot Resolver declarative configuration. */
export const kresConfigSchema = z
  .strictObject({
    version: z.literal(1, { error: "only version 1 of the configuration schema is supported" }).default(1),
    // Upstream takes null for "not set", and a number as its digits.
    nsid: freeTextOrInteger
      // It travels as an EDNS option inside one DNS message (at most 65535 bytes): kresd 5.6
      // silently sends no answer or no NSID at all past that.
      .refine((s) => Buffer.byteLength(s, "utf8") <= NSID_MAX_BYTES, {
        error: `${UNSUPPORTED}: an NSID longer than ${NSID_MAX_BYTES} bytes does not fit in a DNS message with the answer`,
      })
      .nullish()
      .transform((n) => n ?? undefined)
      .meta({ description: "Name Server Identifier (RFC 5001) sent to clients that ask." }),
    hostname: freeTextOrInteger
      .nullish()
      .transform((h) => h ?? validationContext().hostname)
      .meta({ description: "Internal resolver hostname; the machine's hostname by default." }),
    rundir: writableDir
      .prefault(DEFAULT_RUNDIR)
      .meta({ description: "Directory where the resolver creates its files; its working directory." }),
    workers: workersSchema,
    management: managementSchema,
    options: optionsSchema,
    network: networkSchema,
    views: viewsSchema,
    "local-data": localDataSchema,
    forward: forwardSchema,
    fallback: fallbackSchema,
    cache: cacheSchema,
    dnssec: dnssecSchema,
    dns64: dns64Schema,
    logging: loggingSchema,
    monitoring: monitoringSchema,
    "rate-limiting": rateLimitingSchema,
    defer: deferSchema,
    lua: luaSchema,
    // Extensions of this project (EXTENSION_KEYS in json-schema.ts).
    fleet: fleetSchema,
    // An extension of this project: the record of past configurations (not in upstream).
    history: historySchema,
  })
  .superRefine((cfg, ctx) => {
    checkTags(cfg, ctx);
    const cpus = validationContext().cpuCount;
    if (cfg.workers > Math.min(WORKERS_MAX, cpus * 10)) {
      ctx.addIssue({
        code: "custom",
        path: ["workers"],
        message: `refusing to run ${cfg.workers} workers: at most 10 per CPU (${cpus} CPUs) and ${WORKERS_MAX} in all`,
      });
    }
  })
  .meta({
    title: "Knot Resolver configuration",
    description: "Declarative configuration of Knot Resolver, managed by knot-resolver-manager.",
  });

/** A validated configuration: what every part of the manager passes around. */
export type KresConfig = z.output<typeof kresConfigSchema>;

interface TagIssueSink {
  addIssue(issue: { code: "custom"; path: (string | number)[]; message: string }): void;
}

/**
 * Upstream's cross-section tag check: every tag of a local-data rule or RPZ must be assigned by
 * some view, and view tags no rule uses are reported at /views (upstream reports them only when
 * more than one is unused, so a config upstream accepts is accepted here too).
 */
function checkTags(cfg: Pick<KresConfig, "views" | "local-data">, ctx: TagIssueSink): void {
  const known = viewTags(cfg.views);
  const used = new Set<string>();
  const check = (section: "rules" | "rpz", items: readonly { tags?: string[] | undefined }[] | undefined) => {
    (Array.isArray(items) ? items : []).forEach((item, i) => {
      const missing: string[] = [];
      for (const tag of Array.isArray(item?.tags) ? item.tags : []) {
        used.add(tag);
        if (!known.includes(tag) && !missing.includes(tag)) missing.push(tag);
      }
      if (missing.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["local-data", section, i, "tags"],
          message: `tags ${missing.map((t) => `'${t}'`).join(", ")} not found in the tags of /views`,
        });
      }
    });
  };
  check("rules", cfg["local-data"].rules);
  check("rpz", cfg["local-data"].rpz);
  const unused = known.filter((t) => !used.has(t));
  if (unused.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["views"],
      message: `unused tags ${unused.map((t) => `'${t}'`).join(", ")}: no /local-data rule or RPZ uses them`,
    });
  }
}
