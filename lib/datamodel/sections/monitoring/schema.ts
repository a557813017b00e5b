import { z } from "zod";
import { isIP } from "node:net";
import { freeText, portNumber, punycode, timeMillis, timeUnit } from "../../types/index.js";

// The `monitoring` section, as in Knot Resolver 6.0.x before 6.0.17: `enabled` and `graphite`.

export const MONITORING_MODES = ["manager-only", "lazy", "always"] as const;
export type MonitoringMode = (typeof MONITORING_MODES)[number];

const graphiteSchema = z
  .strictObject({
    host: z
      .string({ error: "expected an IP address or a domain name" })
      .refine((h) => isIP(h) !== 0 || punycode(h) !== undefined, {
        error: (iss) => `'${String(iss.input)}' is not an IP address or a domain name`,
      })
      .meta({ description: "Graphite server: IP address or host name." }),
    port: portNumber.default(2003).meta({ description: "Graphite server port." }),
    prefix: freeText.default("").meta({
      description:
        "Prefix of the metric names; each worker adds its ID. Empty: kresd's default 'kresd.<hostname>.<worker-id>'.",
    }),
    interval: timeUnit
      .refine((t) => timeMillis(t) >= 1, {
        error: (iss) => `'${String(iss.input)}' is too short: kresd needs a period of at least 1ms`,
      })
      .default("5s")
      .meta({ description: "How often the metrics are sent." }),
    tcp: z.boolean().default(false).meta({ description: "Send over TCP instead of UDP." }),
  })
  .meta({ description: "Where to send Graphite metrics." });

export const monitoringSchema = z
  .strictObject({
    enabled: z
      .enum(MONITORING_MODES, {
        error: (iss) =>
          `'${String(iss.input)}' is not a monitoring mode; expected one of ${MONITORING_MODES.join(", ")}`,
      })
      .default("lazy")
      .meta({
        description:
          "Statistics in the workers: 'manager-only' (none), 'lazy' (started by the first metrics request) or 'always'.",
      }),
    graphite: z
      .union([z.literal(false), graphiteSchema], { error: "expected false or a graphite object" })
      .default(false)
      .meta({ description: "Send metrics to a Graphite (or compatible) server, or false." }),
  })
  .prefault({})
  .meta({ description: "Statistics collection and export." });

export type MonitoringConfig = z.output<typeof monitoringSchema>;
export type GraphiteConfig = z.output<typeof graphiteSchema>;
