import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import yargs, { type Argv, type CommandModule } from "yargs";
import { hideBin } from "yargs/helpers";
import { STDIN, processIo, type CliIo, type CommandContext, type GlobalArgs } from "./common.js";
import { cacheCommand } from "./commands/cache.js";
import { completionCommand, type CliShape } from "./commands/completion.js";
import { configCommand } from "./commands/config.js";
import { convertCommand } from "./commands/convert.js";
import { debugCommand } from "./commands/debug.js";
import { fleetCommand } from "./commands/fleet.js";
import { helpCommand } from "./commands/help.js";
import { historyCommand } from "./commands/history.js";
import { importLuaCommand } from "./commands/import-lua.js";
import { metricsCommand } from "./commands/metrics.js";
import { migrateCommand } from "./commands/migrate.js";
import { uiCommand } from "./commands/ui.js";
import { pidsCommand } from "./commands/pids.js";
import { reloadCommand } from "./commands/reload.js";
import { schemaCommand } from "./commands/schema.js";
import { stopCommand } from "./commands/stop.js";
import { validateCommand } from "./commands/validate.js";
import { commandSpec, recordBuilder, type OptionSpec } from "./completion/spec.js";
import { checkInspector } from "../utils/inspector.js";
import { packageVersion } from "../utils/version.js";

const DESCRIPTION =
  "Command-line control of Knot Resolver: talks to the running resolver's management API, and works " +
  "with its declarative configuration offline (validate, convert, migrate, import-lua, schema).";

/** Options accepted before or after any command: which management API to talk to. */
function globalOptions(y: Argv): Argv<GlobalArgs> {
  return y
    .option("socket", {
      alias: "s",
      type: "string",
      requiresArg: true,
      global: true,
      describe:
        "Management API of the running resolver: unix socket path, HOST:PORT or http://HOST:PORT (not with --config)",
    })
    .option("config", {
      alias: "c",
      type: "string",
      requiresArg: true,
      global: true,
      describe:
        "Configuration file whose 'management' section names the API (default: $KRES_MANAGER_CONFIG or /etc/knot-resolver/config.yaml)",
    })
    .conflicts("socket", "config");
}

// yargs' own options, for the completion scripts.
const HELP: OptionSpec = {
  name: "help",
  aliases: ["h"],
  describe: "Show help",
  takesValue: false,
  files: false,
};
const VERSION: OptionSpec = {
  name: "version",
  aliases: ["V"],
  describe: "Show the version",
  takesValue: false,
  files: false,
};

type AnyCommand = CommandModule<GlobalArgs, GlobalArgs>;

/** The command line's shape (every command and option), for the completion scripts and the docs' tests. */
function shapeOf(list: readonly AnyCommand[]): CliShape {
  const globals = [...recordBuilder(globalOptions as (y: Argv) => unknown).options, HELP];
  const root = commandSpec({ command: "kresctl", describe: DESCRIPTION, handler: () => {} });
  root.options = [...globals, VERSION];
  root.subcommands = list.map((c) => commandSpec(c));
  return { root, globals };
}

export function cliShape(): CliShape {
  return shapeOf(commands({ io: processIo, exitCode: 0, env: {} }, async () => 0));
}

/** Every command, in the order --help lists them; `showHelp` runs kresctl with --help (for `help`). */
function commands(ctx: CommandContext, showHelp: (words: string[]) => Promise<number>): AnyCommand[] {
  const list: AnyCommand[] = [
    configCommand(ctx),
    reloadCommand(ctx),
    historyCommand(ctx),
    stopCommand(ctx),
    metricsCommand(ctx),
    cacheCommand(ctx),
    pidsCommand(ctx),
    debugCommand(ctx),
    schemaCommand(ctx),
    validateCommand(ctx),
    convertCommand(ctx),
    migrateCommand(ctx),
    importLuaCommand(ctx),
    uiCommand(ctx),
    fleetCommand(ctx),
  ] as unknown as AnyCommand[];
  list.push(completionCommand(ctx, () => shapeOf(list)) as unknown as AnyCommand);
  const names = () => list.map((c) => String(c.command).split(" ")[0] as string);
  list.push(helpCommand(ctx, names, showHelp) as unknown as AnyCommand);
  return list;
}

/**
 * kresctl: command-line control of Knot Resolver. Offline commands (validate, convert, migrate,
 * schema, completion) work on files; the others talk to the manager's HTTP API (see socket.ts).
 *
 * Exit codes: 0 success; 1 invalid input (configuration, files), an error answer of the manager,
 * an unreachable manager, or a usage error (unknown command or option, missing argument: yargs
 * prints the usage and the reason on stderr); 70 internal error; `debug` exits with gdb's status.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const ctx: CommandContext = { io, exitCode: 0, env };
  const dashDash = argv.indexOf("--");
  const options = (i: number) => dashDash < 0 || i < dashDash;
  let args: string[];
  try {
    args = argv.flatMap((a, i) => (!options(i) ? [a] : a === "-" ? [STDIN] : dryRunSpelling(a)));
  } catch (e) {
    io.err(`kresctl: ${(e as Error).message}\n`);
    return 1;
  }
  let parser = globalOptions(yargs(args))
    .scriptName("kresctl")
    .usage(`Usage: $0 [-s SOCKET | -c FILE] COMMAND [ARGS...]\n\n${DESCRIPTION}`);
  const showHelp = (words: string[]) => main([...words, "--help"], io, env);
  for (const c of commands(ctx, showHelp)) parser = parser.command(c);
  parser = parser
    .demandCommand(1, "Say which command to run.")
    .strict()
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version(packageVersion())
    .alias("version", "V")
    .epilogue("See kresctl(8) for details.")
    .wrap(Math.min(110, process.stdout.columns || 80));

  // The callback keeps yargs from printing or exiting by itself: help, version and usage errors
  // come back as text, written here to the right stream.
  let usageError: Error | undefined;
  let usageOutput = "";
  await parser.parseAsync(args, {}, (err: Error | undefined, _a: unknown, output: string) => {
    usageError = err ?? undefined;
    usageOutput = output;
  });
  if (usageError) {
    io.err(usageOutput ? `${usageOutput}\n` : `kresctl: ${usageError.message}\n`);
    return 1;
  }
  if (usageOutput) io.out(`${usageOutput}\n`);
  return ctx.exitCode;
}

/**
 * `--dry-run=canary` as the flags yargs parses (`--dry-run --canary`): a boolean option cannot take
 * a word, and an option with a value would swallow the next argument after a bare --dry-run.
 */
function dryRunSpelling(arg: string): string[] {
  const m = /^--dry-run=(.*)$/s.exec(arg);
  if (!m) return [arg];
  switch (m[1]) {
    case "canary":
      return ["--dry-run", "--canary"];
    case "true":
      return ["--dry-run"];
    case "false":
      return ["--no-dry-run"];
    default:
      throw new Error(`--dry-run takes no value, or =canary; not ${JSON.stringify(m[1])}`);
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  return !!script && fs.realpathSync(script) === fileURLToPath(import.meta.url);
}

if (isEntryPoint()) {
  // KRES_NODE_INSPECT runs kresctl under the node inspector too: see utils/inspector.ts.
  const inspector = checkInspector();
  if (inspector.verdict !== "none") process.stderr.write(`kresctl: ${inspector.message}\n`);
  process.exitCode = inspector.verdict === "refuse" ? 1 : await main(hideBin(process.argv));
}
