import type { Argv, CommandModule } from "yargs";
import { CONFIG_TOP_LEVEL_KEYS } from "../pointer.js";

/**
 * The shape of the command line (commands, options, positionals), read from the same yargs
 * builders kresctl parses with, so the completion scripts cannot drift from the CLI.
 */

export interface OptionSpec {
  /** Long name, without dashes. */
  name: string;
  /** Other names (one letter: short options). */
  aliases: string[];
  describe: string;
  takesValue: boolean;
  /** A boolean that defaults to true: --no-NAME turns it off. */
  negatable?: boolean;
  /** Values to offer (the allowed ones, or likely ones). */
  choices?: string[];
  /** Its value is a file name (complete file names). */
  files: boolean;
}

export interface PositionalSpec {
  name: string;
  optional: boolean;
  variadic: boolean;
  choices?: string[];
  files: boolean;
}

export interface CommandSpec {
  name: string;
  describe: string;
  options: OptionSpec[];
  positionals: PositionalSpec[];
  subcommands: CommandSpec[];
}

// Which values are file names: by the option's or positional's name, the same everywhere in kresctl.
const FILE_VALUES: ReadonlySet<string> = new Set([
  "socket",
  "config",
  "file",
  "files",
  "output",
  "input",
  "value",
  "gdb",
]);
// Likely values of arguments that take more than their choices (pointers, PIDs).
const SUGGESTIONS: Readonly<Record<string, readonly string[]>> = {
  path: CONFIG_TOP_LEVEL_KEYS.map((k) => `/${k}`),
  pointer: CONFIG_TOP_LEVEL_KEYS.map((k) => `/${k}`),
  targets: ["kresd", "gc", "all"],
};

function choicesOf(name: string, cfg: OptionConfig): { choices?: string[] } {
  const choices = cfg.choices?.map(String) ?? SUGGESTIONS[name];
  return choices ? { choices: [...choices] } : {};
}

interface OptionConfig {
  alias?: string | string[];
  type?: string;
  default?: unknown;
  describe?: string;
  choices?: readonly unknown[];
  hidden?: boolean;
}

interface Recorded {
  options: OptionSpec[];
  positionals: Map<string, OptionConfig>;
  subcommands: CommandSpec[];
}

/** A stand-in for yargs' Argv that notes what a builder declares; every other call is a no-op. */
function recorder(): { y: Argv; rec: Recorded } {
  const rec: Recorded = { options: [], positionals: new Map(), subcommands: [] };
  const calls: Record<string, (...a: unknown[]) => void> = {
    option: (name, cfg) => {
      const c = (cfg ?? {}) as OptionConfig;
      if (c.hidden) return;
      rec.options.push({
        name: name as string,
        aliases: c.alias === undefined ? [] : [c.alias].flat(),
        describe: c.describe ?? "",
        takesValue: c.type !== "boolean",
        ...(c.type === "boolean" && c.default === true ? { negatable: true } : {}),
        ...choicesOf(name as string, c),
        files: FILE_VALUES.has(name as string),
      });
    },
    positional: (name, cfg) => void rec.positionals.set(name as string, (cfg ?? {}) as OptionConfig),
    command: (module) => void rec.subcommands.push(commandSpec(module as CommandModule)),
  };
  calls.options = calls.option as (...a: unknown[]) => void;
  const y: Argv = new Proxy({} as Argv, {
    get: (_t, prop) =>
      prop === "then"
        ? undefined
        : (...a: unknown[]) => {
            calls[prop as string]?.(...a);
            return y;
          },
  });
  return { y, rec };
}

/** What a builder declares: options, positionals by name, subcommands. */
export function recordBuilder(build: ((y: Argv) => unknown) | undefined): Recorded {
  const { y, rec } = recorder();
  build?.(y);
  return rec;
}

/** "get [pointer] [file]" → name and positionals in order. */
function parseCommandString(command: string): {
  name: string;
  positionals: Omit<PositionalSpec, "choices" | "files">[];
} {
  const [name, ...rest] = command.trim().split(/\s+/);
  const positionals = rest.map((tok) => {
    const optional = tok.startsWith("[");
    const inner = tok.slice(1, -1);
    const variadic = inner.endsWith("..");
    return { name: variadic ? inner.slice(0, -2) : inner, optional, variadic };
  });
  return { name: name as string, positionals };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any command module, whatever its argument types
export function commandSpec(module: CommandModule<any, any>): CommandSpec {
  const { name, positionals } = parseCommandString(String(module.command));
  const builder = typeof module.builder === "function" ? (module.builder as (y: Argv) => unknown) : undefined;
  const rec = recordBuilder(builder);
  return {
    name,
    describe: typeof module.describe === "string" ? module.describe : "",
    options: rec.options,
    positionals: positionals.map((p) => {
      const cfg = rec.positionals.get(p.name) ?? {};
      return {
        ...p,
        ...choicesOf(p.name, cfg),
        files: FILE_VALUES.has(p.name),
      };
    }),
    subcommands: rec.subcommands,
  };
}

/** A command and its path ("config get"; "" for the root), as the completion scripts walk them. */
export interface CommandNode {
  path: string;
  spec: CommandSpec;
}

/** Every command of the tree, the root first, each before its subcommands. */
export function commandNodes(root: CommandSpec, path = ""): CommandNode[] {
  return [
    { path, spec: root },
    ...root.subcommands.flatMap((s) => commandNodes(s, path ? `${path} ${s.name}` : s.name)),
  ];
}
