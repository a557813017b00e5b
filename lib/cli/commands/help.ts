import type { Argv, CommandModule } from "yargs";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";

interface HelpArgs extends GlobalArgs {
  command: string[];
}

/**
 * `kresctl help [COMMAND...]`: upstream's help subcommand (kresctl's usage), and the usage of one
 * command (`help config get` is `config get --help`). `showHelp` runs kresctl with --help added.
 */
export function helpCommand(
  ctx: CommandContext,
  commandNames: () => readonly string[],
  showHelp: (words: string[]) => Promise<number>,
): CommandModule<GlobalArgs, HelpArgs> {
  return {
    command: "help [command..]",
    describe: "Print this usage, or a command's",
    builder: (y: Argv<GlobalArgs>) =>
      y.positional("command", {
        type: "string",
        array: true,
        default: [] as string[],
        describe: "The command (and operation) to describe",
      }) as Argv<HelpArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const words = args.command.map(String);
        const first = words[0];
        if (first !== undefined && !commandNames().includes(first))
          throw new CliError(`help: no such command '${first}'; kresctl help lists them`);
        ctx.exitCode = await showHelp(words);
      }),
  };
}
