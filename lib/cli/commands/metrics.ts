import type { Argv, CommandModule } from "yargs";
import { runCommand, writeOutput, type CommandContext, type GlobalArgs } from "../common.js";
import { dumpData } from "../format.js";
import { ApiError, clientFor } from "../http.js";

interface MetricsArgs extends GlobalArgs {
  file?: string;
  prometheus: boolean;
}

/** `kresctl metrics [--prometheus] [FILE]`: the workers' statistics, JSON keyed by worker or Prometheus text. */
export function metricsCommand(ctx: CommandContext): CommandModule<GlobalArgs, MetricsArgs> {
  return {
    command: "metrics [file]",
    describe: "Print the resolver's metrics: JSON keyed by worker (the default), or Prometheus text",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("file", {
          type: "string",
          describe: "File to write the metrics to (default: standard output)",
        })
        .option("prometheus", {
          type: "boolean",
          default: false,
          describe: "Prometheus text exposition format (GET /metrics/prometheus)",
        }) as Argv<MetricsArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const client = clientFor(args, ctx.env);
        let text: string;
        if (args.prometheus) {
          try {
            text = (await client.call("GET", "/metrics/prometheus")).text;
          } catch (e) {
            if (e instanceof ApiError && e.status === 404)
              ctx.io.err("kresctl: this resolver does not export Prometheus metrics\n");
            throw e;
          }
        } else {
          text = dumpData(await client.json("GET", "/metrics/json"), "json");
        }
        writeOutput(ctx.io, text, args.file);
      }),
  };
}
