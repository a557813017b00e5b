import { z } from "zod";
import { writableFilePath } from "../../types/index.js";
import { UNSUPPORTED } from "../../kresd56.js";
import { removedKey, renamedKey } from "../../old-spellings.js";
import { enableObjectError, orNull } from "../../upstream.js";

// The `logging` section, as in Knot Resolver 6.4: level, target, groups, dnstap (off unless
// `enable: true`).

export const LOG_LEVELS = ["crit", "err", "warning", "notice", "info", "debug"] as const;
export const LOG_TARGETS = ["syslog", "stderr", "stdout"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogTarget = (typeof LOG_TARGETS)[number];

/**
 * Groups of whole processes and of the manager's parts; kresd's log_groups() never sees them.
 * 'kresd' sets the workers' level to debug; 'policy-loader' names a process that does not exist
 * with kresd 5.6 (nothing to log, so harmless).
 */
export const PROCESS_LOG_GROUPS = ["manager", "supervisord", "policy-loader", "kresd", "cache-gc"] as const;
export const MANAGER_LOG_GROUPS = ["files", "metrics", "server"] as const;

/** kresd log groups that kresd 5.6 knows (its `log_groups()` accepts exactly these). */
export const KRESD_LOG_GROUPS = [
  "system",
  "cache",
  "io",
  "net",
  "ta",
  "tasent",
  "tasign",
  "taupd",
  "tls",
  "gnutls",
  "tls_cl",
  "xdp",
  "doh",
  "dnssec",
  "hint",
  "plan",
  "iterat",
  "valdtr",
  "resolv",
  "select",
  "zoncut",
  "cookie",
  "statis",
  "rebind",
  "worker",
  "policy",
  "daf",
  "timejm",
  "timesk",
  "graphi",
  "prefil",
  "primin",
  "srvstl",
  "wtchdg",
  "nsid",
  "dnstap",
  "tests",
  "dotaut",
  "http",
  "contrl",
  "module",
  "devel",
  "renum",
  "exterr",
] as const;

/** Groups of Knot Resolver 6 that kresd 5.6 has no such code for (log_groups() refuses them). */
export const KRES6_ONLY_LOG_GROUPS = {
  rules: "the rules database (local-data rules) is new in Knot Resolver 6",
  prlayr: "protocol layers are new in Knot Resolver 6",
  defer: "request prioritization (defer) is new in Knot Resolver 6",
  doq: "DNS over QUIC is new in Knot Resolver 6",
  ngtcp2: "DNS over QUIC (ngtcp2) is new in Knot Resolver 6",
} as const;

export const LOG_GROUPS = [
  ...PROCESS_LOG_GROUPS,
  ...MANAGER_LOG_GROUPS,
  ...KRESD_LOG_GROUPS,
  ...(Object.keys(KRES6_ONLY_LOG_GROUPS) as (keyof typeof KRES6_ONLY_LOG_GROUPS)[]),
] as const;
export type LogGroup = (typeof LOG_GROUPS)[number];

/** Environment variable consulted by `target: from-env` (upstream's name). */
export const LOGGING_TARGET_ENV = "KRES_LOGGING_TARGET";

const logLevel = z
  .enum(LOG_LEVELS, {
    error: (iss) => `'${String(iss.input)}' is not a logging level; expected one of ${LOG_LEVELS.join(", ")}`,
  })
  .meta({ description: "Logging level: crit, err, warning, notice, info or debug." });

const logTarget = z
  .enum([...LOG_TARGETS, "from-env"], {
    error: (iss) =>
      `'${String(iss.input)}' is not a logging target; expected one of ${LOG_TARGETS.join(", ")} or from-env`,
  })
  .default("from-env")
  .transform((target, ctx): LogTarget => {
    if (target !== "from-env") return target;
    const fromEnv = process.env[LOGGING_TARGET_ENV] || "stdout";
    if ((LOG_TARGETS as readonly string[]).includes(fromEnv)) return fromEnv as LogTarget;
    ctx.addIssue({
      code: "custom",
      message: `logging target '${fromEnv}' read from $${LOGGING_TARGET_ENV} is invalid; expected one of ${LOG_TARGETS.join(", ")}`,
    });
    return z.NEVER;
  })
  .meta({
    description: `Where all processes log: stdout, stderr or syslog; 'from-env' (the default) reads $${LOGGING_TARGET_ENV}, falling back to stdout.`,
  });

const logGroup = z.enum(LOG_GROUPS, {
  error: (iss) => `'${String(iss.input)}' is not a known logging group`,
});

const dnstapSchema = z
  .strictObject(
    {
      enable: z.boolean().default(false).meta({ description: "Log DNS queries and responses (dnstap)." }),
      "unix-socket": orNull(writableFilePath).meta({
        description: "Path of the unix socket that dnstap messages are sent to (required to enable).",
      }),
      "log-queries": z
        .boolean()
        .default(false)
        .meta({ description: "Log queries from clients (wire format)." }),
      "log-responses": z
        .boolean()
        .default(false)
        .meta({ description: "Log responses to clients (wire format)." }),
      "log-tcp-rtt": z.boolean().default(false).meta({ description: "Log the TCP round-trip time." }),
    },
    { error: enableObjectError("dnstap") },
  )
  .superRefine((d, ctx) => {
    if (d.enable && d["unix-socket"] === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["unix-socket"],
        message: "DNS queries logging enabled, but 'unix-socket' not specified",
      });
    }
  })
  .prefault({})
  .meta({
    description: "Logging of DNS queries and responses to a unix socket (dnstap); off unless 'enable: true'.",
  });

export const loggingSchema = z
  .strictObject({
    level: logLevel.default("notice"),
    target: logTarget,
    groups: orNull(z.array(logGroup, { error: "expected a list of logging groups" })).meta({
      description: "Groups logged at the debug level whatever the global level.",
    }),
    dnstap: dnstapSchema,
    "dnssec-bogus": renamedKey("dnssec/log-bogus"),
    debugging: removedKey("kresd's defaults apply"),
  })
  .superRefine((cfg, ctx) => {
    const seen = new Set<string>();
    cfg.groups?.forEach((group, i) => {
      if (seen.has(group)) {
        ctx.addIssue({
          code: "custom",
          path: ["groups", i],
          message: `duplicate logging group '${group}' on index ${i}`,
        });
      }
      seen.add(group);
      if (Object.hasOwn(KRES6_ONLY_LOG_GROUPS, group)) {
        const reason = KRES6_ONLY_LOG_GROUPS[group as keyof typeof KRES6_ONLY_LOG_GROUPS];
        ctx.addIssue({
          code: "custom",
          path: ["groups", i],
          message: `${UNSUPPORTED}: it has no logging group '${group}' (${reason})`,
        });
      }
    });
  })
  .prefault({})
  .meta({ description: "Logging and debugging configuration." });

export type LoggingConfig = z.output<typeof loggingSchema>;
export type DnstapConfig = z.output<typeof dnstapSchema>;

/** The configured groups that reach kresd's log_groups() (process and manager ones filtered out). */
export function kresdLogGroups(cfg: LoggingConfig): string[] {
  const notKresd: readonly string[] = [...PROCESS_LOG_GROUPS, ...MANAGER_LOG_GROUPS];
  return (cfg.groups ?? []).filter((g) => !notKresd.includes(g));
}

/** kresd's log level: debug when the 'kresd' group is listed, as upstream. */
export function kresdLogLevel(cfg: LoggingConfig): LogLevel {
  return cfg.groups?.includes("kresd") ? "debug" : cfg.level;
}
