import type { Argv, CommandModule } from "yargs";
import { runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { bashCompletionScript } from "../completion/bash.js";
import type { CommandSpec, OptionSpec } from "../completion/spec.js";
import { zshCompletionScript } from "../completion/zsh.js";

interface CompletionArgs extends GlobalArgs {
  bash?: boolean;
  zsh?: boolean;
}

/** The command line's shape, for the scripts: the tree and the options valid after any command. */
export interface CliShape {
  root: CommandSpec;
  globals: OptionSpec[];
}

/** `kresctl completion [--bash|--zsh]`: prints the shell completion script (bash by default, as upstream). */
export function completionCommand(
  ctx: CommandContext,
  shape: () => CliShape,
): CommandModule<GlobalArgs, CompletionArgs> {
  return {
    command: "completion",
    describe: "Print a shell completion script for kresctl",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("bash", { type: "boolean", describe: "For bash (the default)" })
        .option("zsh", { type: "boolean", describe: "For zsh" })
        .conflicts("bash", "zsh")
        .example("$0 completion --bash > /usr/share/bash-completion/completions/kresctl", "")
        .example(
          "$0 completion --zsh > /usr/share/zsh/vendor-completions/_kresctl",
          "",
        ) as Argv<CompletionArgs>,
    handler: (args) =>
      runCommand(ctx, () => {
        const { root, globals } = shape();
        ctx.io.out(args.zsh ? zshCompletionScript(root, globals) : bashCompletionScript(root, globals));
      }),
  };
}
