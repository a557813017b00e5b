import type { Argv, CommandModule } from "yargs";
import { configJsonSchema } from "../../datamodel/json-schema.js";
import { CliError, runCommand, writeOutput, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor } from "../http.js";

interface SchemaArgs extends GlobalArgs {
  file?: string;
  output?: string;
  live: boolean;
}

/** `kresctl schema [--live] [-o FILE]`: the JSON Schema of the configuration, offline or from the manager. */
export function schemaCommand(ctx: CommandContext): CommandModule<GlobalArgs, SchemaArgs> {
  return {
    command: "schema [file]",
    describe: "Print the JSON Schema of the configuration",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("file", { type: "string", describe: "File to write the schema to (same as -o)" })
        .option("output", {
          alias: "o",
          type: "string",
          requiresArg: true,
          describe: "File to write the schema to (default: standard output)",
        })
        .option("live", {
          alias: "l",
          type: "boolean",
          default: false,
          describe: "Ask the running resolver for its schema (GET /schema) instead",
        }) as Argv<SchemaArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        if (args.file && args.output && args.file !== args.output)
          throw new CliError("give the output file once: either FILE or -o FILE");
        const schema = args.live ? await clientFor(args, ctx.env).json("GET", "/schema") : configJsonSchema();
        writeOutput(ctx.io, JSON.stringify(schema, null, 2) + "\n", args.output ?? args.file);
      }),
  };
}
