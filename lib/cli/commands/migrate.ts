import * as fs from "node:fs";
import * as path from "node:path";
import type { Argv, CommandModule } from "yargs";
import { ConfigValidationError, formatProblems } from "../../datamodel/errors.js";
import { parseConfigText, validateConfig } from "../../datamodel/load.js";
import { isPlainObject } from "../../utils/parsing.js";
import {
  CliError,
  STDIN,
  displayName,
  runCommand,
  writeOutput,
  type CommandContext,
  type GlobalArgs,
} from "../common.js";
import { dumpData, formatOf } from "../format.js";
import { migrateConfig } from "../config-migration.js";

interface MigrateArgs extends GlobalArgs {
  input: string;
  output?: string;
  json?: boolean;
  yaml?: boolean;
}

function readInput(file: string, ctx: CommandContext): string {
  if (file === STDIN) return ctx.io.readStdin();
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/**
 * `kresctl migrate INPUT [OUTPUT]`: a Knot Resolver 6.0.x configuration rewritten in the shape of
 * 6.0.17 and later (6.4), as upstream's migrate does (config-migration.ts). The migrated
 * configuration goes alone to OUTPUT or stdout (so it can be redirected; upstream prints a title
 * before it); what changed goes to stderr. A result that still does not validate is written
 * anyway, its problems listed, exit 1.
 */
export function migrateCommand(ctx: CommandContext): CommandModule<GlobalArgs, MigrateArgs> {
  return {
    command: "migrate <input> [output]",
    describe:
      "Rewrite a configuration written for Knot Resolver 6.0.x in the shape of 6.0.17 and later (6.4)",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("input", {
          type: "string",
          demandOption: true,
          describe: 'Configuration file (YAML or JSON); "-" reads standard input',
        })
        .positional("output", { type: "string", describe: "File to write to (default: standard output)" })
        .option("json", { type: "boolean", describe: "Write JSON" })
        .option("yaml", { type: "boolean", describe: "Write YAML (the default)" })
        .conflicts("json", "yaml") as Argv<MigrateArgs>,
    handler: (args) =>
      runCommand(
        ctx,
        () => {
          const name = displayName(args.input);
          const data = parseConfigText(readInput(args.input, ctx), name) ?? {};
          if (!isPlainObject(data))
            throw new CliError(`${name}: expected a configuration (a mapping of keys)`);
          const { config, changes } = migrateConfig(data);
          writeOutput(ctx.io, dumpData(config, formatOf(args, "yaml")), args.output);
          ctx.io.err(
            changes.length > 0
              ? changes.map((c) => `kresctl: migrate: ${c}\n`).join("")
              : `kresctl: migrate: ${name}: nothing to change\n`,
          );
          const baseDir = args.input === STDIN ? process.cwd() : path.dirname(path.resolve(args.input));
          try {
            validateConfig(structuredClone(config), { strict: false, baseDir });
          } catch (e) {
            if (!(e instanceof ConfigValidationError)) throw e;
            throw new CliError(`${name}: after migration, ${formatProblems(e.problems)}`);
          }
        },
        displayName(args.input),
      ),
  };
}
