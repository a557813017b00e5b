import type { CommandModule } from "yargs";
import { runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor } from "../http.js";

/** `kresctl stop`: the manager stops everything (supervisord included); prints nothing on success. */
export function stopCommand(ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: "stop",
    describe: "Stop the resolver: every worker, the garbage collector and the manager",
    handler: (args) =>
      runCommand(ctx, async () => {
        await clientFor(args, ctx.env).call("POST", "/stop");
      }),
  };
}
