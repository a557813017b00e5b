import type { Argv, CommandModule } from "yargs";
import { renderWorkerLua } from "../../datamodel/worker-lua.js";
import {
  DEFAULT_CONFIG_FILE,
  displayName,
  loadConfig,
  runCommand,
  writeOutput,
  type CommandContext,
  type GlobalArgs,
} from "../common.js";

interface ConvertArgs extends GlobalArgs {
  file: string;
  output?: string;
  strict: boolean;
}

/** `kresctl convert [FILE] [OUTPUT]`: the Lua config a kresd 5.6 worker would run for FILE. */
export function convertCommand(ctx: CommandContext): CommandModule<GlobalArgs, ConvertArgs> {
  return {
    command: "convert [file] [output]",
    describe: "Convert a configuration file to the Lua script of a kresd worker",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("file", {
          type: "string",
          default: DEFAULT_CONFIG_FILE,
          describe: 'Configuration file (YAML or JSON); "-" reads standard input',
        })
        .positional("output", {
          type: "string",
          describe: "File to write the Lua to (default: standard output)",
        })
        .option("strict", {
          type: "boolean",
          default: true,
          describe: "Also check the file system while validating; --no-strict skips that",
        }) as Argv<ConvertArgs>,
    handler: (args) =>
      runCommand(
        ctx,
        () => writeOutput(ctx.io, renderWorkerLua(loadConfig(args.file, args.strict, ctx.io)), args.output),
        displayName(args.file),
      ),
  };
}
