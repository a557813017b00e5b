import type { Argv, CommandModule } from "yargs";
import { renderWorkerLua } from "../../datamodel/worker-lua.js";
import {
  CliError,
  filesPositional,
  loadConfigs,
  runCommand,
  sourceName,
  strictOption,
  writeOutput,
  type CommandContext,
  type GlobalArgs,
} from "../common.js";

/** What upstream's convert can generate; only a worker's script has a kresd 5.6 equivalent. */
const TYPES = ["worker", "policy-loader"] as const;

interface ConvertArgs extends GlobalArgs {
  files: string[];
  output?: string;
  strict: boolean;
  type: (typeof TYPES)[number];
}

/** `kresctl convert [--strict] [--type worker] [-o FILE] [FILE...]`: the Lua a kresd 5.6 worker would run. */
export function convertCommand(ctx: CommandContext): CommandModule<GlobalArgs, ConvertArgs> {
  return {
    command: "convert [files..]",
    describe: "Convert configuration files to the Lua script of a kresd worker",
    builder: (y: Argv<GlobalArgs>) =>
      strictOption(filesPositional(y))
        .option("output", {
          alias: "o",
          type: "string",
          requiresArg: true,
          describe: "File to write the Lua to (default: standard output)",
        })
        .option("type", {
          choices: TYPES,
          default: "worker" as const,
          describe:
            "Which Lua script: a worker's (policy-loader, upstream's separate rule loader, has no kresd 5.6 equivalent)",
        })
        .example("$0 convert -o worker.lua /etc/knot-resolver/config.yaml", "") as Argv<ConvertArgs>,
    handler: (args) =>
      runCommand(
        ctx,
        () => {
          // Upstream 6's policy-loader fills the rule database its workers share; kresd 5.6 has no
          // such database: each worker loads local data and policies itself, in its own script.
          if (args.type !== "worker")
            throw new CliError(
              `convert --type ${args.type}: kresd 5.6 has no policy loader (each worker loads its rules itself); use --type worker`,
            );
          writeOutput(ctx.io, renderWorkerLua(loadConfigs(args.files, args.strict, ctx.io)), args.output);
        },
        sourceName(args.files),
      ),
  };
}
