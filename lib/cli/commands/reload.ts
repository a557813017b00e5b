import type { Argv, CommandModule } from "yargs";
import { runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor } from "../http.js";

interface ReloadArgs extends GlobalArgs {
  force: boolean;
}

/** `kresctl reload [--force]`: re-read the config files; prints nothing on success, as upstream. */
export function reloadCommand(ctx: CommandContext): CommandModule<GlobalArgs, ReloadArgs> {
  return {
    command: "reload",
    describe:
      "Re-read the configuration files and apply them with a rolling restart of the workers (no DNS outage)",
    builder: (y: Argv<GlobalArgs>) =>
      y.option("force", {
        type: "boolean",
        default: false,
        describe: "Restart every worker even when the configuration did not change",
      }) as Argv<ReloadArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        await clientFor(args, ctx.env).call("POST", args.force ? "/reload/force" : "/reload");
      }),
  };
}
