import * as fs from "node:fs";
import * as path from "node:path";
import * as Y from "yaml";
import type { Argv, CommandModule } from "yargs";
import { ConfigValidationError, formatProblems } from "../../datamodel/errors.js";
import { validateConfig } from "../../datamodel/load.js";
import { CliError, STDIN, runCommand, writeOutput, type CommandContext, type GlobalArgs } from "../common.js";
import { keepLua } from "../import-lua/keep-lua.js";
import { runSandbox } from "../import-lua/run.js";
import { translateRecording } from "../import-lua/translate.js";
import { printable } from "../../utils/printable.js";

interface ImportLuaArgs extends GlobalArgs {
  file: string;
  output?: string;
  "keep-lua": boolean;
}

const WHY: Record<string, string> = {
  syntax: "kresd 5 would refuse this config",
  runtime: "kresd 5 would refuse this config",
  limit: "stopped: a config must finish loading",
  unsupported: "import-lua does not evaluate this; rewrite that part by hand",
  read: "cannot read",
};

/**
 * `kresctl import-lua FILE [-o OUT] [--keep-lua]`: a kresd 5 config (Lua) as the YAML config of
 * the 6.4 dialect. The file runs in a LuaJIT sandbox with recording stand-ins for kresd's API
 * (import-lua/run.ts), the recording is translated (import-lua/translate.ts) and validated. The
 * YAML alone goes to OUT or stdout; stderr gets one line FILE:LINE: … per construct not
 * translated. Exit 0 (warnings or not); 1 when kresd 5 would refuse the file (the line given) or
 * the sandbox cannot evaluate it.
 */
export function importLuaCommand(ctx: CommandContext): CommandModule<GlobalArgs, ImportLuaArgs> {
  return {
    command: "import-lua <file>",
    describe: "Convert a kresd 5 Lua configuration (kresd.conf) into the YAML configuration",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("file", { type: "string", demandOption: true, describe: "The kresd 5 config (Lua)" })
        .option("output", {
          alias: "o",
          type: "string",
          requiresArg: true,
          describe: "File to write the YAML to (default: standard output)",
        })
        .option("keep-lua", {
          type: "boolean",
          default: false,
          describe: "Carry the statements the YAML cannot express into lua.script, in order",
        })
        .example("$0 import-lua /etc/knot-resolver/kresd.conf -o config.yaml", "") as Argv<ImportLuaArgs>,
    handler: (args) =>
      runCommand(ctx, () => {
        if (args.file === STDIN)
          throw new CliError("import-lua: give the kresd.conf as a file, not standard input");
        const display = args.file;
        let source: string;
        try {
          source = fs.readFileSync(args.file, "utf8");
        } catch (e) {
          throw new CliError(`${display}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
        const rec = runSandbox(args.file, display, ctx.env);
        if (!rec.ok) {
          const msg =
            rec.message.startsWith(`${display}:`) || rec.line === undefined
              ? rec.message
              : `${display}:${rec.line}: ${rec.message}`;
          throw new CliError(`import-lua: ${printable(msg)} (${WHY[rec.stage]})`);
        }
        const { config, findings } = translateRecording(rec.events);
        const warnings = findings.warnings.map((w) => ({ ...w, carried: false }));
        if (args["keep-lua"]) {
          const kept = keepLua(source, path.basename(display), rec.spans, rec.events, findings);
          if (kept.script !== undefined) config.lua = { script: kept.script };
          for (const w of warnings) w.carried = w.untranslated && kept.carried(w.top);
          for (const n of kept.notCarried)
            warnings.push({
              line: n.line,
              top: n.line,
              message: n.message,
              untranslated: true,
              carried: false,
            });
        }
        try {
          validateConfig(structuredClone(config), {
            strict: false,
            baseDir: path.dirname(path.resolve(args.file)),
          });
        } catch (e) {
          if (!(e instanceof ConfigValidationError)) throw e;
          throw new CliError(
            `import-lua: ${display}: the translation does not validate: ${formatProblems(e.problems)}`,
          );
        }
        const header = `# Converted by kresctl import-lua from ${path.basename(display)}\n`;
        // The `yaml` package writes lua.script as a literal block, tabs and all, where js-yaml quotes it.
        writeOutput(ctx.io, header + Y.stringify(config, { lineWidth: 0 }), args.output);
        warnings.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
        for (const w of warnings)
          ctx.io.err(
            // names and messages come from the config: no control character reaches the terminal
            `kresctl: import-lua: ${display}:${w.line ?? "?"}: ${printable(w.message)}${w.carried ? " [carried into lua.script]" : ""}\n`,
          );
      }),
  };
}
