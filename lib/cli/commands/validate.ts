import type { Argv, CommandModule } from "yargs";
import {
  filesPositional,
  loadConfigs,
  runCommand,
  sourceName,
  strictOption,
  type CommandContext,
  type GlobalArgs,
} from "../common.js";

interface ValidateArgs extends GlobalArgs {
  files: string[];
  strict: boolean;
}

/** `kresctl validate [--strict] [FILE...]`: checks config files offline; every problem with its JSON pointer. */
export function validateCommand(ctx: CommandContext): CommandModule<GlobalArgs, ValidateArgs> {
  return {
    command: "validate [files..]",
    describe: "Validate configuration files (YAML or JSON) without a running resolver",
    builder: (y: Argv<GlobalArgs>) =>
      strictOption(filesPositional(y))
        .example("$0 validate --strict /etc/knot-resolver/config.yaml", "")
        .example("$0 validate base.yaml local.yaml", "") as Argv<ValidateArgs>,
    handler: (args) =>
      runCommand(
        ctx,
        () => {
          loadConfigs(args.files, args.strict, ctx.io);
          ctx.io.out(
            `${sourceName(args.files)}: valid${args.strict ? "" : " (file-system checks skipped; --strict runs them)"}\n`,
          );
        },
        sourceName(args.files),
      ),
  };
}
