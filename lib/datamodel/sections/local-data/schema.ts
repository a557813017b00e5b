import { z } from "zod";
import {
  domainName,
  freeText,
  idPattern,
  ipAddress,
  listOrItem,
  readableFile,
  timeSeconds,
  timeUnit,
} from "../../types/index.js";
import { TTL_MAX_SECONDS } from "../../kresd56.js";
import { removedKey } from "../../old-spellings.js";

/** Knot Resolver 6's TTL of local data when none is configured (KR_RULE_TTL_DEFAULT). */
export const LOCAL_DATA_TTL_DEFAULT = 300;

export const SUBTREE_KINDS = ["empty", "nxdomain", "redirect"] as const;
export const RPZ_LOG_ITEMS = ["ip", "name"] as const;

const ttlSchema = timeUnit.refine(
  // NaN (a malformed value, reported by timeUnit itself) passes this check.
  (v) => !(timeSeconds(v) > TTL_MAX_SECONDS),
  { error: (iss) => `TTL '${String(iss.input)}' is longer than ${TTL_MAX_SECONDS} seconds` },
);

const tagsSchema = z
  .array(idPattern, { error: "expected a list of tags" })
  .optional()
  .meta({ description: "Apply only to clients of views with one of these tags." });

const addressMapSchema = z.record(domainName, listOrItem(ipAddress), {
  error: "expected a mapping of domain names to IP addresses",
});

const truthy = (v: unknown): boolean =>
  v !== undefined && v !== null && v !== false && v !== "" && !(Array.isArray(v) && v.length === 0);

const ruleSchema = z
  .strictObject({
    name: listOrItem(domainName)
      .optional()
      .meta({ description: "Name(s) the rule is about: owners of 'address', apexes of 'subtree'." }),
    subtree: z
      .enum(SUBTREE_KINDS, { error: `expected one of ${SUBTREE_KINDS.join(", ")}` })
      .optional()
      .meta({
        description:
          "Answer the whole subtree: empty (empty zone), nxdomain, or redirect (answer with the apex's records).",
      }),
    address: listOrItem(ipAddress)
      .optional()
      .meta({ description: "Address(es) of the name(s); also answers the reverse (PTR) queries." }),
    file: listOrItem(readableFile)
      .optional()
      .meta({ description: "Hosts file(s) ('/etc/hosts' format) of names and addresses." }),
    records: freeText.optional().meta({ description: "Records in zone-file format." }),
    tags: tagsSchema,
    ttl: ttlSchema.optional().meta({ description: "TTL of the answers; /local-data/ttl by default." }),
    nodata: z
      .boolean()
      .optional()
      .meta({ description: "Answer NODATA for other types at the names; /local-data/nodata by default." }),
  })
  .superRefine((rule, ctx) => {
    const kinds = [rule.address, rule.subtree, rule.file, rule.records].filter(truthy).length;
    const addressWithSubtree =
      kinds === 2 && truthy(rule.address) && (rule.subtree === "empty" || rule.subtree === "redirect");
    if (kinds > 1 && !addressWithSubtree) {
      ctx.addIssue({
        code: "custom",
        message: "only one of 'address', 'subtree' or 'file' can be configured",
      });
    } else if (kinds < 1) {
      ctx.addIssue({
        code: "custom",
        message: "one of 'address', 'subtree', 'file' or 'records' must be configured",
      });
    }
    if ([rule.name, rule.file, rule.records].filter(truthy).length !== 1) {
      ctx.addIssue({ code: "custom", message: "one of 'name', 'file' or 'records' must be configured" });
    }
    if (rule.nodata === true && truthy(rule.subtree) && !truthy(rule.address)) {
      ctx.addIssue({
        code: "custom",
        path: ["nodata"],
        message: "'nodata' defined but unused with 'subtree'",
      });
    }
  })
  .meta({ description: "An advanced local-data rule." });

const rpzSchema = z
  .strictObject({
    file: readableFile.meta({ description: "The RPZ zone file." }),
    watchdog: z
      .union([z.literal("auto"), z.boolean()], { error: "expected 'auto', true or false" })
      .default("auto")
      .meta({
        description: "Reload the file when it changes: auto (when possible), true (required), false.",
      }),
    tags: tagsSchema,
    log: z
      .array(z.enum(RPZ_LOG_ITEMS, { error: `expected one of ${RPZ_LOG_ITEMS.join(", ")}` }))
      .optional()
      .meta({
        description: "Log each use of the RPZ at notice level, with the client's IP and/or the name.",
      }),
  })
  .meta({ description: "A Response Policy Zone." });

export const localDataSchema = z
  .strictObject({
    ttl: ttlSchema.optional().meta({ description: "Default TTL of local data (300 seconds when unset)." }),
    nodata: z
      .boolean()
      .default(true)
      .meta({ description: "Answer NODATA for other types at names that have local data." }),
    "root-fallback-addresses": removedKey(),
    "root-fallback-addresses-files": removedKey(),
    addresses: addressMapSchema
      .optional()
      .meta({ description: "Names and their addresses; the reverse (PTR) names are answered too." }),
    "addresses-files": z
      .array(readableFile)
      .optional()
      .meta({ description: "Hosts files ('/etc/hosts' format) of names and addresses." }),
    records: freeText.optional().meta({ description: "Records in zone-file format." }),
    rules: z.array(ruleSchema).optional().meta({ description: "Advanced rules, optionally tagged." }),
    rpz: z.array(rpzSchema).optional().meta({ description: "Response Policy Zones." }),
  })
  .prefault({})
  .meta({ description: "Local data: addresses, records, subtree rules and RPZ answered by the resolver." });
export type LocalDataConfig = z.output<typeof localDataSchema>;
export type LocalDataRule = NonNullable<LocalDataConfig["rules"]>[number];
export type LocalDataRpz = NonNullable<LocalDataConfig["rpz"]>[number];
