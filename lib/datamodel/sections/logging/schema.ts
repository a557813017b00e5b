import { z } from "zod";
import { timeUnit, writableFilePath } from "../../types/index.js";
import { UNSUPPORTED } from "../../kresd56.js";

// The `logging` section, as in Knot Resolver 6.0.10–6.0.16 (the releases that also have
// rate-limiting and defer): level, target, groups, dnssec-bogus, dnstap, debugging.

export const LOG_LEVELS = ["crit", "err", "warning", "notice", "info", "debug"] as const;
export const LOG_TARGETS = ["syslog", "stderr", "stdout"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogTarget = (typeof LOG_TARGETS)[number];

/** Groups that belong to the processes around kresd; kresd itself never sees them. */
export const MANAGER_LOG_GROUPS = ["manager", "supervisord", "cache-gc"] as const;

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
} as const;

export const LOG_GROUPS = [
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
  .strictObject({
    "unix-socket": writableFilePath.meta({
      description: "Path of the unix socket that dnstap messages are sent to.",
    }),
    "log-queries": z.boolean().default(true).meta({ description: "Log queries from clients (wire format)." }),
    "log-responses": z
      .boolean()
      .default(true)
      .meta({ description: "Log responses to clients (wire format)." }),
    "log-tcp-rtt": z.boolean().default(true).meta({ description: "Log the TCP round-trip time." }),
  })
  .meta({ description: "Logging of DNS queries and responses to a unix socket (dnstap)." });

const debuggingSchema = z
  .strictObject({
    "assertion-abort": z
      .boolean()
      .default(false)
      .meta({ description: "Abort the kresd process when an internal assertion fails." }),
    "assertion-fork": timeUnit.default("5m").meta({
      description:
        "On a failed assertion, fork and abort the child (for a core dump) at most once per this period; the parent keeps running. '0s' disables it.",
    }),
  })
  .prefault({})
  .meta({ description: "Advanced debugging parameters of kresd." });

export const loggingSchema = z
  .strictObject({
    level: logLevel.default("notice"),
    target: logTarget,
    groups: z
      .array(logGroup, { error: "expected a list of logging groups" })
      .nullish()
      .transform((g) => g ?? undefined)
      .meta({ description: "Groups logged at the debug level whatever the global level." }),
    "dnssec-bogus": z
      .boolean()
      .default(false)
      .meta({ description: "Log a message for each DNSSEC validation failure." }),
    dnstap: z
      .union([z.literal(false), dnstapSchema], { error: "expected false or a dnstap object" })
      .default(false)
      .meta({ description: "Logging of DNS requests and responses to a unix socket, or false." }),
    debugging: debuggingSchema,
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

/** The configured groups that reach kresd's log_groups() (manager-side ones filtered out). */
export function kresdLogGroups(cfg: LoggingConfig): string[] {
  const managerSide: readonly string[] = MANAGER_LOG_GROUPS;
  return (cfg.groups ?? []).filter((g) => !managerSide.includes(g));
}
