import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { validationContext } from "../../context.js";
import { absoluteName, domainName, freeText, readableFile } from "../../types/index.js";
import { removedKey, renamedKey } from "../../old-spellings.js";
import { enableObjectError, orNull } from "../../upstream.js";

const TA_TYPE_RE = /^(?:DS|DNSKEY)$/i;

/** The owner of a DS/DNSKEY record in presentation format, or a reason it is not one. */
export function trustAnchorOwner(record: string): { owner: string } | { problem: string } {
  const tokens = record.trim().split(/\s+/);
  const typeIndex = tokens.findIndex((t) => TA_TYPE_RE.test(t));
  if (typeIndex < 1) {
    return {
      problem: `expected a DS or DNSKEY record ('<owner> [ttl] [IN] DS|DNSKEY <data>'), got '${record}'`,
    };
  }
  if (typeIndex === tokens.length - 1) return { problem: `the record has no data: '${record}'` };
  const owner = tokens[0] as string;
  if (domainName.safeParse(owner).success === false) {
    return { problem: `'${owner}' is not a valid owner name in '${record}'` };
  }
  return { owner: absoluteName(owner) };
}

const trustAnchorFileSchema = z
  .strictObject({
    file: readableFile.meta({ description: "Zone file with the DS/DNSKEY records of one domain." }),
    "read-only": z
      .boolean()
      .default(false)
      .meta({ description: "Do not write RFC 5011 updates of the keys back to the file." }),
  })
  .superRefine((taf, ctx) => {
    // kresd 5.6 updates a managed file in place and refuses to start without write access to
    // its directory (it probes with '<file>.lock').
    if (taf["read-only"] || !validationContext().strict) return;
    const dir = path.dirname(taf.file);
    try {
      fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    } catch {
      ctx.addIssue({
        code: "custom",
        path: ["read-only"],
        message: `the trust anchors in '${taf.file}' are kept up to date (RFC 5011), which needs write access to '${dir}'; make it writable or set 'read-only: true'`,
      });
    }
  })
  .meta({ description: "A trust anchor file." });

const REMOVED_BECAUSE = "kresd's RFC 5011 defaults apply";

/** `dnssec` as in Knot Resolver 6.4: validation is on unless `enable: false`. */
export const dnssecSchema = z
  .strictObject(
    {
      enable: z.boolean().default(true).meta({ description: "Validate answers with DNSSEC." }),
      "log-bogus": z.boolean().default(false).meta({
        description: "Log each DNSSEC validation failure (at level notice or more verbose).",
      }),
      sentinel: z
        .boolean()
        .default(true)
        .meta({ description: "Let clients find out which root keys the resolver trusts (RFC 8509)." }),
      "signal-query": z.boolean().default(true).meta({
        description: "Signal the trusted keys to authoritative servers with key tag queries (RFC 8145).",
      }),
      "trust-anchors": orNull(z.array(freeText, { error: "expected a list of DS/DNSKEY records" })).meta({
        description: "Static trust anchors: DS or DNSKEY records in presentation format.",
      }),
      "trust-anchors-files": orNull(
        z.array(trustAnchorFileSchema, { error: "expected a list of trust anchor files" }),
      ).meta({
        description: "Zone files holding trust anchors, kept up to date per RFC 5011 unless read-only.",
      }),
      "negative-trust-anchors": orNull(
        z.array(domainName, { error: "expected a list of domain names" }),
      ).meta({
        description: "Domains below which DNSSEC validation is turned off (RFC 7646).",
      }),
      "trust-anchor-sentinel": renamedKey("dnssec/sentinel"),
      "trust-anchor-signal-query": renamedKey("dnssec/signal-query"),
      "time-skew-detection": removedKey("the detection always runs while validating"),
      "keep-removed": removedKey(REMOVED_BECAUSE),
      "refresh-time": removedKey(REMOVED_BECAUSE),
      "hold-down-time": removedKey(REMOVED_BECAUSE),
    },
    { error: enableObjectError("dnssec") },
  )
  .superRefine((d, ctx) => {
    const anchored = new Map<string, number>();
    d["trust-anchors"]?.forEach((record, i) => {
      const r = trustAnchorOwner(record);
      if ("problem" in r) ctx.addIssue({ code: "custom", path: ["trust-anchors", i], message: r.problem });
      else if (!anchored.has(r.owner)) anchored.set(r.owner, i);
    });
    d["negative-trust-anchors"]?.forEach((name, i) => {
      const abs = absoluteName(name);
      const ta = anchored.get(abs);
      if (ta !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: ["negative-trust-anchors", i],
          message: `'${abs}' cannot be a negative trust anchor: it has a trust anchor (/dnssec/trust-anchors/${ta})`,
        });
      }
    });
  })
  .prefault({})
  .meta({ description: "DNSSEC validation settings; on by default." });

export type DnssecConfig = z.output<typeof dnssecSchema>;
