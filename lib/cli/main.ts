import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import yargs from "yargs";
import { hideBin } from "yargs/helpers";
import { DEFAULT_API_SOCKET, STDIN, processIo, type CliIo, type CommandContext } from "./common.js";
import { convertCommand } from "./commands/convert.js";
import { schemaCommand } from "./commands/schema.js";
import { validateCommand } from "./commands/validate.js";
import { packageVersion } from "./version.js";

/**
 * kresctl: command-line control of Knot Resolver. Offline commands (validate, convert, schema) work
 * on files; the others talk to the manager's HTTP API on --socket.
 *
 * Exit codes: 0 success; 1 invalid input (configuration, files) or usage error (unknown command or
 * option, missing argument: yargs prints the usage and the reason on stderr); 70 internal error.
 */
export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const ctx: CommandContext = { io, exitCode: 0 };
  const args = argv.map((a) => (a === "-" ? STDIN : a));
  const parser = yargs(args)
    .scriptName("kresctl")
    .usage("Usage: $0 [-s SOCKET] COMMAND [ARGS...]\n\nCommand-line control of Knot Resolver.")
    .option("socket", {
      alias: "s",
      type: "string",
      default: DEFAULT_API_SOCKET,
      requiresArg: true,
      global: true,
      describe: "Management API of the running resolver: unix socket path or http://HOST:PORT",
    })
    .command(validateCommand(ctx))
    .command(convertCommand(ctx))
    .command(schemaCommand(ctx))
    .demandCommand(1, "Say which command to run.")
    .strict()
    .recommendCommands()
    .help()
    .alias("help", "h")
    .version(packageVersion())
    .alias("version", "V")
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

function isEntryPoint(): boolean {
  const script = process.argv[1];
  return !!script && fs.realpathSync(script) === fileURLToPath(import.meta.url);
}

if (isEntryPoint()) process.exitCode = await main(hideBin(process.argv));
