import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { ConfigParseError, ConfigValidationError, formatProblems } from "../datamodel/errors.js";
import { loadConfigFiles } from "../datamodel/load.js";
import { checkInspector } from "../utils/inspector.js";
import { shellQuote } from "../utils/shell.js";
import { packageVersion } from "../utils/version.js";
import type { KresConfig } from "../datamodel/config.js";
import { ControllerUnavailable, SubprocessError } from "../controller/interface.js";
import { logger } from "./logger.js";
import { GaveUp, startUp, StartupError } from "./startup.js";
import { describeError } from "../utils/stack-map.js";

export const DEFAULT_CONFIG_FILE = "/etc/knot-resolver/config.yaml";

/**
 * Asks the launcher (bin/knot-resolver) to replace this process with `argv` once node has exited 0,
 * keeping the PID: node has no exec(). The request is `argv` as shell-quoted words in the file named
 * by $KNOT_RESOLVER_EXEC_FILE. Start-up will use it to hand over to supervisord.
 */
export function requestExec(argv: readonly string[]): void {
  const file = process.env.KNOT_RESOLVER_EXEC_FILE;
  if (!file)
    throw new Error("cannot exec: not started through bin/knot-resolver (KNOT_RESOLVER_EXEC_FILE unset)");
  if (argv.length === 0) throw new Error("cannot exec an empty command");
  fs.writeFileSync(file, argv.map(shellQuote).join(" ") + "\n");
}

/**
 * The config files of a command line made of `-c FILE` / `--config FILE` pairs only (none: the
 * default file), which is how supervisord runs the manager and how it is usually started; read
 * without yargs, whose loading costs a tenth of node's start-up here. Anything else (--help, other
 * spellings, mistakes): undefined, for yargs to read.
 */
function configArgs(argv: readonly string[]): string[] | undefined {
  if (argv.length % 2 !== 0) return undefined;
  const files: string[] = [];
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]!];
    if ((flag !== "-c" && flag !== "--config") || value === "" || value.startsWith("-")) return undefined;
    files.push(value);
  }
  return files.length > 0 ? files : [DEFAULT_CONFIG_FILE];
}

/** The config files by yargs, or the exit code after --help, --version or a usage error. */
async function parseArgs(argv: readonly string[]): Promise<string[] | number> {
  const { default: yargs } = await import("yargs");
  let usage: { error?: Error; output: string } = { output: "" };
  const args = await yargs([...argv])
    .scriptName("knot-resolver")
    .usage(
      "Usage: $0 [-c FILE]...\n\nKnot Resolver: runs and supervises kresd workers from one declarative config.",
    )
    .option("config", {
      alias: "c",
      type: "string",
      array: true,
      requiresArg: true,
      default: [DEFAULT_CONFIG_FILE],
      describe: "Configuration file (YAML or JSON); repeat to merge several, later ones override earlier",
    })
    .strict()
    .help()
    .alias("help", "h")
    .version(packageVersion())
    .alias("version", "V")
    .wrap(Math.min(110, process.stdout.columns || 80))
    .parseAsync(argv as string[], {}, (err: Error | undefined, _a: unknown, output: string) => {
      usage = { error: err ?? undefined, output };
    });
  if (usage.error) {
    process.stderr.write(usage.output ? `${usage.output}\n` : `knot-resolver: ${usage.error.message}\n`);
    return 1;
  }
  if (usage.output) {
    process.stdout.write(`${usage.output}\n`); // --help or --version
    return 0;
  }
  return args.config.map(String);
}

/**
 * knot-resolver [-c FILE]... : loads and validates the configuration (later files override earlier
 * ones), then starts up (see startup.ts): either hands over to supervisord (exit 0 with an exec
 * request) or, started by supervisord, runs as the manager (undefined: keeps running). Exit codes:
 * 1 invalid configuration, unreadable file, usage error, refused start or a node inspector on a
 * non-loopback address (each problem on stderr, no stack trace); 70 internal error.
 */
export async function main(argv: readonly string[]): Promise<number | undefined> {
  // Said before anything else, by both runs (before and under supervisord): see utils/inspector.ts.
  const inspector = checkInspector();
  if (inspector.verdict === "refuse") {
    process.stderr.write(`knot-resolver: ${inspector.message}\n`);
    return 1;
  }
  if (inspector.verdict === "warn") logger.warning(inspector.message);
  const parsed = configArgs(argv) ?? (await parseArgs(argv));
  if (typeof parsed === "number") return parsed;
  const files = parsed;
  let loaded: { raw: unknown; config: KresConfig };
  try {
    loaded = loadConfigFiles(files);
  } catch (e) {
    if (e instanceof ConfigValidationError) {
      process.stderr.write(`knot-resolver: ${files.join(", ")}: ${formatProblems(e.problems)}\n`);
      return 1;
    }
    if (e instanceof ConfigParseError) {
      process.stderr.write(`knot-resolver: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
  try {
    // this module's file is the script supervisord runs the manager with (dist/bundle/manager.js
    // or dist/lib/manager/main.js: its code is in the entry point, bundled or not)
    const outcome = await startUp(
      files,
      { document: loaded.raw, config: loaded.config },
      fileURLToPath(import.meta.url),
    );
    if (outcome.kind === "exec") {
      requestExec(outcome.argv);
      return 0;
    }
    return undefined; // the supervised manager runs until a signal
  } catch (e) {
    if (e instanceof StartupError) {
      process.stderr.write(`knot-resolver: ${e.message}\n`);
      return 1;
    }
    if (e instanceof GaveUp) return 1;
    if (e instanceof SubprocessError || e instanceof ControllerUnavailable) {
      logger.crit(`start-up failed: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  return !!script && fs.realpathSync(script) === fileURLToPath(import.meta.url);
}

if (isEntryPoint()) {
  try {
    const code = await main(process.argv.slice(2));
    if (code !== undefined) process.exitCode = code;
  } catch (e) {
    process.stderr.write(`knot-resolver: internal error: ${describeError(e)}\n`);
    process.exitCode = 70;
  }
}
