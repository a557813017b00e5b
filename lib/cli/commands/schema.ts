import type { Argv, CommandModule } from "yargs";
import { configJsonSchema } from "../../datamodel/json-schema.js";
import { CliError, runCommand, writeOutput, type CommandContext, type GlobalArgs } from "../common.js";

interface SchemaArgs extends GlobalArgs {
  file?: string;
  output?: string;
}

/** `kresctl schema [-o FILE]`: the JSON Schema of the configuration, generated offline. */
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
        }) as Argv<SchemaArgs>,
    handler: (args) =>
      runCommand(ctx, () => {
        if (args.file && args.output && args.file !== args.output)
          throw new CliError("give the output file once: either FILE or -o FILE");
        writeOutput(ctx.io, JSON.stringify(configJsonSchema(), null, 2) + "\n", args.output ?? args.file);
      }),
  };
}
