import { z } from "zod";
import { ipv6Network, ipv6Network96, parseNetwork, timeUnit, timeSeconds } from "../../types/index.js";
import { UNSUPPORTED, TTL_MAX_SECONDS } from "../../kresd56.js";
import { renamedKey } from "../../old-spellings.js";
import { enableObjectError, orNull } from "../../upstream.js";

/**
 * `dns64` (RFC 6147) as in Knot Resolver 6.4: off unless `enable: true`. A prefix alone does not
 * turn it on (it did in 6.0, where the object's presence meant on).
 */
export const dns64Schema = z
  .strictObject(
    {
      enable: z.boolean().default(false).meta({ description: "Synthesize AAAA records (DNS64)." }),
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
      "reverse-ttl": orNull(timeUnit).meta({
        description: "TTL of the CNAMEs synthesized in the reverse (ip6.arpa) subtree of the prefix.",
      }),
      "exclude-subnets": orNull(z.array(ipv6Network, { error: "expected a list of IPv6 networks" })).meta({
        description: "AAAA records in these subnets are treated as missing (and synthesized).",
      }),
      "rev-ttl": renamedKey("dns64/reverse-ttl"),
    },
    { error: enableObjectError("dns64") },
  )
  .superRefine((d, ctx) => {
    const ttl = d["reverse-ttl"];
    if (ttl !== undefined && timeSeconds(ttl) > TTL_MAX_SECONDS) {
      ctx.addIssue({
        code: "custom",
        path: ["reverse-ttl"],
        message: `${UNSUPPORTED}: a TTL is at most ${TTL_MAX_SECONDS} seconds, got '${ttl}'`,
      });
    }
  })
  .prefault({})
  .meta({ description: "DNS64 (RFC 6147); off unless 'enable: true'." });

export type Dns64Config = z.output<typeof dns64Schema>;
