import type { Argv, CommandModule } from "yargs";
import { runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { bashCompletionScript } from "../completion/bash.js";
import { fishCompletionScript } from "../completion/fish.js";
import type { CommandSpec, OptionSpec } from "../completion/spec.js";
import { zshCompletionScript } from "../completion/zsh.js";

interface CompletionArgs extends GlobalArgs {
  bash?: boolean;
  fish?: boolean;
  zsh?: boolean;
}

/** The command line's shape, for the scripts: the tree and the options valid after any command. */
export interface CliShape {
  root: CommandSpec;
  globals: OptionSpec[];
}

/**
 * `kresctl completion [--bash|--fish|--zsh]`: prints the shell completion script (bash by default,
 * as upstream). Upstream prints the words to offer for `--args WORDS...` instead, and nothing yet
 * for fish; a whole script needs no kresctl run per TAB.
 */
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
        .option("fish", { type: "boolean", describe: "For fish" })
        .option("zsh", { type: "boolean", describe: "For zsh" })
        .conflicts("bash", ["fish", "zsh"])
        .conflicts("fish", "zsh")
        .example("$0 completion --bash > /usr/share/bash-completion/completions/kresctl", "")
        .example("$0 completion --fish > ~/.config/fish/completions/kresctl.fish", "")
        .example(
          "$0 completion --zsh > /usr/share/zsh/vendor-completions/_kresctl",
          "",
        ) as Argv<CompletionArgs>,
    handler: (args) =>
      runCommand(ctx, () => {
        const { root, globals } = shape();
        const script = args.zsh
          ? zshCompletionScript
          : args.fish
            ? fishCompletionScript
            : bashCompletionScript;
        ctx.io.out(script(root, globals));
      }),
  };
}
