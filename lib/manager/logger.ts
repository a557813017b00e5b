import winston from "winston";
import type { KresConfig } from "../datamodel/config.js";
import { printable } from "../utils/printable.js";

/** Config's logging.level → winston's syslog level names. */
const LEVELS: Record<KresConfig["logging"]["level"], string> = {
  crit: "crit",
  err: "error",
  warning: "warning",
  notice: "notice",
  info: "info",
  debug: "debug",
};

/**
 * One line per event: `level: message`. Under supervisord the manager's stdout is forwarded by
 * the patch_logger plugin to logging.target (stdout, stderr or syslog) prefixed `manager[pid]`,
 * so the manager itself writes to stdout, or to stderr when the target is stderr.
 */
export const logger = winston.createLogger({
  levels: winston.config.syslog.levels,
  level: "notice",
  // Every control character escaped: a request path or config value must not forge log lines or
  // send escape sequences to the operator's terminal.
  format: winston.format.printf(({ level, message }) => `${level}: ${printable(String(message))}`),
  transports: [new winston.transports.Console({ stderrLevels: [] })],
});

export function configureLogging(cfg: KresConfig): void {
  // As upstream, the 'manager' logging group puts the manager at the debug level.
  const level = cfg.logging.groups?.includes("manager") ? "debug" : cfg.logging.level;
  logger.level = LEVELS[level] ?? "notice";
  const stderrLevels = cfg.logging.target === "stderr" ? Object.keys(winston.config.syslog.levels) : [];
  logger.clear().add(new winston.transports.Console({ stderrLevels }));
}
