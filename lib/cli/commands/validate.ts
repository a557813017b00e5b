import type { Argv, CommandModule } from "yargs";
import {
  DEFAULT_CONFIG_FILE,
  displayName,
  loadConfig,
  runCommand,
  type CommandContext,
  type GlobalArgs,
} from "../common.js";

interface ValidateArgs extends GlobalArgs {
  file: string;
  strict: boolean;
}

/** `kresctl validate [FILE]`: checks a config file offline; every problem with its JSON pointer. */
export function validateCommand(ctx: CommandContext): CommandModule<GlobalArgs, ValidateArgs> {
  return {
    command: "validate [file]",
    describe: "Validate a configuration file (YAML or JSON) without a running resolver",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("file", {
          type: "string",
          default: DEFAULT_CONFIG_FILE,
          describe: 'Configuration file; "-" reads standard input',
        })
        .option("strict", {
          type: "boolean",
          default: true,
          describe: "Also check the file system (paths exist, are readable/writable); --no-strict skips that",
        }) as Argv<ValidateArgs>,
    handler: (args) =>
      runCommand(
        ctx,
        () => {
          loadConfig(args.file, args.strict, ctx.io);
          ctx.io.out(
            `${displayName(args.file)}: valid${args.strict ? "" : " (file-system checks skipped)"}\n`,
          );
        },
        displayName(args.file),
      ),
  };
}
