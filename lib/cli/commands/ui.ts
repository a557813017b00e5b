import type { Argv, CommandModule } from "yargs";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { tokenOf } from "../http.js";
import { resolveEndpoint } from "../socket.js";
import { startUiProxy } from "../ui-proxy.js";

interface UiArgs extends GlobalArgs {
  port: number;
}

/**
 * `kresctl ui [--port P]`: serves the dashboard on a loopback port by forwarding to the management
 * API (ui-proxy.ts), prints its URL (with the proxy's one-time token) and runs until interrupted.
 */
export function uiCommand(ctx: CommandContext): CommandModule<GlobalArgs, UiArgs> {
  return {
    command: "ui",
    describe: "Open the web dashboard: a loopback-only proxy to the management API; prints its URL",
    builder: (y: Argv<GlobalArgs>) =>
      y.option("port", {
        type: "number",
        default: 0,
        describe: "Loopback port to listen on (0: any free port)",
      }) as Argv<UiArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        if (!Number.isInteger(args.port) || args.port < 0 || args.port > 65535)
          throw new CliError(`--port must be a port number (0 for any free one), not ${String(args.port)}`);
        const endpoint = resolveEndpoint(args, ctx.env);
        let proxy;
        try {
          proxy = await startUiProxy({
            target: endpoint.target,
            apiToken: tokenOf(endpoint),
            port: args.port,
          });
        } catch (e) {
          throw new CliError(`cannot listen on 127.0.0.1:${args.port}: ${(e as Error).message}`);
        }
        ctx.io.out(
          `Knot Resolver dashboard: ${proxy.url}\n(only this machine can connect; Ctrl-C stops it)\n`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => {
            process.off("SIGINT", stop);
            process.off("SIGTERM", stop);
            void proxy.close().then(resolve);
          };
          process.on("SIGINT", stop);
          process.on("SIGTERM", stop);
        });
      }),
  };
}
