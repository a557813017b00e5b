import { z } from "zod";
import { ipv6Network, ipv6Network96, parseNetwork, timeUnit, timeSeconds } from "../../types/index.js";
import { UNSUPPORTED, TTL_MAX_SECONDS } from "../../kresd56.js";

const dns64ObjectSchema = z
  .strictObject({
    prefix: ipv6Network96
      .superRefine((s, ctx) => {
        const n = parseNetwork(s);
        // Upstream takes exactly a /96, the only length kresd's dns64 module synthesizes with.
        // (Longer prefixes are already refused by ipv6Network96.)
        if (typeof n !== "string" && n.version === 6 && n.prefix < 96) {
          ctx.addIssue({
            code: "custom",
            message: `expected an IPv6 network with a /96 prefix, got /${n.prefix}`,
          });
        }
      })
      .default("64:ff9b::/96")
      .meta({
        description: "IPv6 /96 prefix the IPv4 addresses are embedded in to synthesize AAAA records.",
      }),
    "rev-ttl": timeUnit.optional().meta({
      description: "TTL of the CNAMEs synthesized in the reverse (ip6.arpa) subtree of the prefix.",
    }),
    "exclude-subnets": z
      .array(ipv6Network, { error: "expected a list of IPv6 networks" })
      .optional()
      .meta({ description: "AAAA records in these subnets are treated as missing (and synthesized)." }),
  })
  .superRefine((d, ctx) => {
    const ttl = d["rev-ttl"];
    if (ttl !== undefined && timeSeconds(ttl) > TTL_MAX_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["rev-ttl"],
        message: `${UNSUPPORTED}: a TTL is at most ${TTL_MAX_SECONDS} seconds, got '${ttl}'`,
      });
    }
  })
  .meta({ description: "DNS64 settings." });

/** `dns64`: false (the default) turns it off, true or an object turns it on (RFC 6147). */
export const dns64Schema = z
  .union([z.boolean(), dns64ObjectSchema], { error: "expected true, false or an object with DNS64 settings" })
  // prefault: the default goes through the union like a written value (and shows in the JSON Schema).
  .prefault(false)
  .transform((v) => (v === true ? dns64ObjectSchema.parse({}) : v))
  .meta({ description: "DNS64 (RFC 6147): false disables it, true or an object enables it." });

export type Dns64Config = z.output<typeof dns64Schema>;
export type Dns64Settings = Exclude<Dns64Config, false>;
