import * as fs from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { ExpandsTooLarge, parseYamlOrJson } from "../../utils/parsing.js";
import { CliError, STDIN, runCommand, writeOutput, type CommandContext, type GlobalArgs } from "../common.js";
import { dumpData, formatOf, type DataFormat } from "../format.js";
import { clientFor } from "../http.js";
import { dryRunOptions, dryRunQuery, printPlan, type DryRunArgs } from "../plan.js";
import { configUrl, normalizePointer, pointerAndRest } from "../pointer.js";

interface PathArgs extends GlobalArgs {
  path?: string;
}

interface GetArgs extends PathArgs {
  pointer?: string;
  file?: string;
  json?: boolean;
  yaml?: boolean;
}

interface SetArgs extends PathArgs, DryRunArgs {
  pointer?: string;
  persist?: boolean;
  value?: string;
  file?: string;
  json?: boolean;
  yaml?: boolean;
}

type DeleteArgs = PathArgs & DryRunArgs & { pointer?: string; persist?: boolean };

const POINTER_HELP =
  "JSON pointer (RFC 6901) into the configuration, e.g. /workers; the whole configuration by default";

/** --persist / --no-persist: write the change into the config file too (absent: the server's default). */
function persistOption<T>(y: Argv<T>): Argv<T & { persist?: boolean }> {
  return y.option("persist", {
    type: "boolean",
    describe:
      "Also write the change into the config file that defines the key (--no-persist: do not, whatever management.persist says)",
  });
}

/** The change's URL: the pointer's, with ?persist= when the option was given, ?dry-run= for a dry run. */
function changeUrl(pointer: string, persist: boolean | undefined, dryRun: DryRunArgs): string {
  const query = [persist === undefined ? "" : `persist=${persist}`, dryRunQuery(dryRun)].filter(Boolean);
  return configUrl(pointer) + (query.length > 0 ? `?${query.join("&")}` : "");
}

function pathOption<T>(y: Argv<T>): Argv<T & { path?: string }> {
  return y.option("path", { alias: "p", type: "string", requiresArg: true, describe: POINTER_HELP });
}

/** --json/--yaml; the default differs as upstream's: `get` prints YAML, `set` echoes JSON. */
function formatOptions<T>(
  y: Argv<T>,
  what: string,
  fallback: DataFormat,
): Argv<T & { json?: boolean; yaml?: boolean }> {
  const dflt = (f: DataFormat) => (f === fallback ? " (the default)" : "");
  return y
    .option("json", { type: "boolean", describe: `Print ${what} as JSON${dflt("json")}` })
    .option("yaml", { type: "boolean", describe: `Print ${what} as YAML${dflt("yaml")}` })
    .conflicts("json", "yaml");
}

function getCommand(ctx: CommandContext): CommandModule<GlobalArgs, GetArgs> {
  return {
    command: "get [pointer] [file]",
    describe: "Print the running configuration, or the part of it at a JSON pointer",
    builder: (y) =>
      formatOptions(pathOption(y), "the configuration", "yaml")
        .positional("pointer", { type: "string", describe: `${POINTER_HELP} (same as -p)` })
        .positional("file", { type: "string", describe: "File to save it to (default: standard output)" })
        .example("$0 config get -p /network", "")
        .example("$0 config get --json -p /network network.json", "") as Argv<GetArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const { pointer, rest } = pointerAndRest(args.path, [args.pointer, args.file]);
        if (rest.length > 1) throw new CliError(`config get: unexpected argument '${rest[1]}'`);
        const value = await clientFor(args, ctx.env).json("GET", configUrl(pointer));
        const text = dumpData(value, formatOf(args, "yaml"));
        const file = rest[0];
        writeOutput(ctx.io, text, file);
        if (file !== undefined && file !== STDIN) ctx.io.out(`saved to: ${file}\n`);
      }),
  };
}

/** The new value's text: --file, else the argument (a readable file's content, as upstream), else stdin. */
function valueText(
  args: { file?: string },
  positional: string | undefined,
  io: CommandContext["io"],
): string {
  if (args.file !== undefined && positional !== undefined)
    throw new CliError("config set: give the value either as an argument or with --file, not both");
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, "utf8");
    } catch (e) {
      throw new CliError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
    }
  };
  if (args.file !== undefined) return args.file === STDIN ? io.readStdin() : read(args.file);
  if (positional === undefined || positional === STDIN) return io.readStdin();
  return isFile(positional) ? read(positional) : positional;
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function setCommand(ctx: CommandContext): CommandModule<GlobalArgs, SetArgs> {
  return {
    command: "set [pointer] [value]",
    describe: "Change the running configuration at a JSON pointer (or replace all of it)",
    builder: (y) =>
      formatOptions(dryRunOptions(persistOption(pathOption(y)), false), "the new value (or the plan)", "json")
        .positional("pointer", { type: "string", describe: `${POINTER_HELP} (same as -p)` })
        .positional("value", {
          type: "string",
          describe:
            "The new value in JSON or YAML, or a file holding it; without it (or with -), standard input",
        })
        .option("file", {
          alias: "f",
          type: "string",
          requiresArg: true,
          describe: 'File with the new value (JSON or YAML); "-" reads standard input',
        })
        .example("$0 config set -p /workers 4", "")
        .example("$0 config set -p /network/listen listen.yaml", "")
        .example("$0 config set --persist -p /logging/level debug", "")
        .example("$0 config set --dry-run=canary -p /workers 4", "") as Argv<SetArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const { pointer, rest } = pointerAndRest(args.path, [args.pointer, args.value]);
        if (rest.length > 1) throw new CliError(`config set: unexpected argument '${rest[1]}'`);
        const text = valueText(args, rest[0], ctx.io);
        if (text.trim() === "") throw new CliError("config set: the new value is empty");
        let value: unknown;
        try {
          value = parseYamlOrJson(text);
        } catch (e) {
          // Valid YAML, but its aliases stand for more than the manager takes: say that, not "invalid".
          if (e instanceof ExpandsTooLarge)
            throw new CliError(`config set: ${new ExpandsTooLarge("the new value").message}`);
          throw new CliError(
            `the new value is not valid JSON or YAML: ${(e as Error).message.split("\n")[0]}`,
          );
        }
        if (value === undefined) throw new CliError("config set: the new value is empty");
        // Encoded here: a string value ('info') would go as is, as text/plain, which TCP refuses.
        const answer = await clientFor(args, ctx.env).json("PUT", changeUrl(pointer, args.persist, args), {
          body: JSON.stringify(value),
          contentType: "application/json",
        });
        if (dryRunQuery(args)) printPlan(ctx, args, answer);
        else ctx.io.out(dumpData(answer, formatOf(args, "json")));
      }),
  };
}

function deleteCommand(ctx: CommandContext): CommandModule<GlobalArgs, DeleteArgs> {
  return {
    command: "delete [pointer]",
    describe: "Remove the part of the running configuration at a JSON pointer",
    builder: (y) =>
      dryRunOptions(persistOption(pathOption(y)))
        .positional("pointer", { type: "string", describe: "JSON pointer of what to remove (same as -p)" })
        .example("$0 config delete -p /local-data/addresses/foo.example", "")
        .example("$0 config delete --dry-run -p /cache/size-max", "") as Argv<DeleteArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        if (args.path !== undefined && args.pointer !== undefined)
          throw new CliError("config delete: give the JSON pointer once: either -p POINTER or POINTER");
        const pointer = normalizePointer(args.path ?? args.pointer ?? "");
        if (pointer === "") throw new CliError("config delete: say what to remove with a JSON pointer");
        const url = changeUrl(pointer, args.persist, args);
        if (dryRunQuery(args)) printPlan(ctx, args, await clientFor(args, ctx.env).json("DELETE", url));
        else await clientFor(args, ctx.env).call("DELETE", url);
      }),
  };
}

/** `kresctl config get|set|delete`: the running configuration through the management API. */
export function configCommand(ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: "config",
    describe: "Read or change the running resolver's configuration",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(getCommand(ctx))
        .command(setCommand(ctx))
        .command(deleteCommand(ctx))
        .demandCommand(1, "Say which operation: get, set or delete."),
    handler: () => {},
  };
}
