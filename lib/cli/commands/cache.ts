import type { Argv, CommandModule } from "yargs";
import { parseCacheClearRequest } from "../../datamodel/cache-clear/schema.js";
import { InvalidCacheClearRequest } from "../../datamodel/errors.js";
import { printable } from "../../utils/printable.js";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { dumpData, formatOf } from "../format.js";
import { clientFor } from "../http.js";

interface ClearArgs extends GlobalArgs {
  name?: string;
  "exact-name": boolean;
  "rr-type"?: string;
  "chunk-size": number;
  json?: boolean;
  yaml?: boolean;
}

/**
 * The body of POST /cache/clear, checked here first as upstream's kresctl does (the manager checks
 * it again, and answers 400 naming the field).
 */
export function clearRequest(args: ClearArgs): Record<string, unknown> {
  const body = {
    ...(args.name !== undefined ? { name: args.name } : {}),
    "exact-name": args["exact-name"],
    ...(args["rr-type"] !== undefined ? { "rr-type": args["rr-type"] } : {}),
    "chunk-size": args["chunk-size"],
  };
  try {
    parseCacheClearRequest(body);
  } catch (e) {
    if (!(e instanceof InvalidCacheClearRequest)) throw e;
    // Named as the user gave them: the options, and NAME.
    const what = (pointer: string) => (pointer === "/name" ? "NAME" : pointer.replace(/^\//, "--"));
    throw new CliError(
      `cache clear: ${e.problems.map((p) => `${what(p.pointer)}: ${printable(p.message)}`).join("; ")}`,
    );
  }
  return body;
}

function clearCommand(ctx: CommandContext): CommandModule<GlobalArgs, ClearArgs> {
  return {
    command: "clear [name]",
    describe: "Remove records from the cache: all of them, a subtree, or one name",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("name", {
          type: "string",
          describe: "Domain whose subtree is removed; without it the whole cache is cleared",
        })
        .option("exact-name", {
          type: "boolean",
          default: false,
          describe: "Remove only records of NAME itself, not of its subtree",
        })
        .option("rr-type", {
          type: "string",
          requiresArg: true,
          describe: "Remove only records of this type (with --exact-name)",
        })
        .option("chunk-size", {
          type: "number",
          default: 100,
          requiresArg: true,
          describe: "Records removed per round, so the resolver is never blocked for long",
        })
        .option("json", { type: "boolean", describe: "Print the result as JSON" })
        .option("yaml", { type: "boolean", describe: "Print the result as YAML (the default)" })
        .conflicts("json", "yaml")
        .example("$0 cache clear --exact-name --rr-type AAAA example.com.", "") as Argv<ClearArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const body = clearRequest(args);
        const result = await clientFor(args, ctx.env).json("POST", "/cache/clear", { body });
        ctx.io.out(dumpData(result, formatOf(args, "yaml")));
      }),
  };
}

/** `kresctl cache clear`: the shared cache of the running resolver. */
export function cacheCommand(ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: "cache",
    describe: "Operate on the running resolver's cache",
    builder: (y: Argv<GlobalArgs>) =>
      y.command(clearCommand(ctx)).demandCommand(1, "Say which operation: clear."),
    handler: () => {},
  };
}
