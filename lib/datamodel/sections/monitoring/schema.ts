import { z } from "zod";
import { isIP } from "node:net";
import { freeText, portNumber, punycode, timeMillis, timeUnit } from "../../types/index.js";
import { unsupported } from "../../kresd56.js";
import { renamedKey } from "../../old-spellings.js";
import { enableObjectError, orNull } from "../../upstream.js";

// The `monitoring` section, as in Knot Resolver 6.4: `metrics` and `graphite` (off unless
// `enable: true`; in 6.0 a graphite object meant on).

export const MONITORING_MODES = ["manager-only", "lazy", "always"] as const;
export type MonitoringMode = (typeof MONITORING_MODES)[number];

const graphiteSchema = z
  .strictObject(
    {
      enable: z.boolean().default(false).meta({ description: "Send metrics to a Graphite server." }),
      host: orNull(
        z
          .string({ error: "expected an IP address or a domain name" })
          .refine((h) => isIP(h) !== 0 || punycode(h) !== undefined, {
            error: (iss) => `'${String(iss.input)}' is not an IP address or a domain name`,
          }),
      ).meta({ description: "Graphite server: IP address or host name (required to enable)." }),
      port: portNumber.default(2003).meta({ description: "Graphite server port." }),
      prefix: freeText.default("").meta({
        description:
          "Prefix of the metric names; each worker adds its ID. Empty: kresd's default 'kresd.<hostname>.<worker-id>'.",
      }),
      interval: timeUnit.default("5s").meta({ description: "How often the metrics are sent." }),
      tcp: z.boolean().default(false).meta({ description: "Send over TCP instead of UDP." }),
    },
    { error: enableObjectError("graphite") },
  )
  .superRefine((g, ctx) => {
    if (!g.enable) return;
    if (g.host === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["host"],
        message: "'host' has to be configured to enable the graphite bridge",
      });
    }
    if (timeMillis(g.interval) < 1) {
      ctx.addIssue({
        code: "custom",
        path: ["interval"],
        message: unsupported(`its graphite module needs a period of at least 1ms, got '${g.interval}'`),
      });
    }
  })
  .prefault({})
  .meta({ description: "Where to send Graphite metrics; off unless 'enable: true'." });

export const monitoringSchema = z
  .strictObject({
    metrics: z
      .enum(MONITORING_MODES, {
        error: (iss) =>
          `'${String(iss.input)}' is not a metrics mode; expected one of ${MONITORING_MODES.join(", ")}`,
      })
      .default("lazy")
      .meta({
        description:
          "Statistics in the workers: 'manager-only' (none), 'lazy' (started by the first metrics request) or 'always'.",
      }),
    graphite: graphiteSchema,
    enabled: renamedKey("monitoring/metrics"),
  })
  .prefault({})
  .meta({ description: "Statistics collection and export." });

export type MonitoringConfig = z.output<typeof monitoringSchema>;
export type GraphiteConfig = z.output<typeof graphiteSchema>;
