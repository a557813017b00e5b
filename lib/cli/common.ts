import * as fs from "node:fs";
import * as path from "node:path";
import * as readline from "node:readline/promises";
import type { Argv } from "yargs";
import { ConfigParseError, ConfigValidationError, formatProblems } from "../datamodel/errors.js";
import { parseConfigText, readConfigFile, validateConfig } from "../datamodel/load.js";
import type { KresConfig } from "../datamodel/config.js";
import { KresError } from "../utils/errors.js";
import { deepMerge } from "../utils/parsing.js";
import { describeError } from "../utils/stack-map.js";

export const DEFAULT_CONFIG_FILE = "/etc/knot-resolver/config.yaml";
export const DEFAULT_API_SOCKET = "/run/knot-resolver/kres-api.sock";

/**
 * Stands for standard input among file arguments. yargs drops a lone "-" argument, so main() replaces
 * it by this before parsing; it cannot clash with a real path (no argument can contain NUL).
 */
export const STDIN = "\0stdin";

/** A file argument as shown to the user. */
export function displayName(file: string): string {
  return file === STDIN ? "<stdin>" : file;
}

/** Where a command writes: the process's streams, or buffers in tests. */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** The whole standard input (for the file name "-"). */
  readStdin(): string;
  /**
   * Asks the user a yes/no question on the terminal; absent when standard input is not a terminal
   * (a script), which must never be left waiting for an answer.
   */
  confirm?: (question: string) => Promise<boolean>;
  /** Standard output is a terminal that takes ANSI colours (NO_COLOR unset). */
  colour?: boolean;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  readStdin: () => fs.readFileSync(0, "utf8"),
  ...(process.stdin.isTTY ? { confirm: askOnTerminal } : {}),
  colour: process.stdout.isTTY === true && !process.env.NO_COLOR,
};

async function askOnTerminal(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(`${question} [y/N] `)).trim());
  } finally {
    rl.close();
  }
}

/** A failure the user can act on: printed as its message alone, no stack trace. The base of lib/cli/'s errors. */
export class CliError extends KresError {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/** Options every kresctl command accepts: where the management API is (see socket.ts). */
export interface GlobalArgs {
  socket?: string;
  config?: string;
}

/** What a command handler gets besides its arguments; `exitCode` is what kresctl exits with. */
export interface CommandContext {
  io: CliIo;
  exitCode: number;
  /** The environment (KRES_MANAGER_CONFIG names the default config file). */
  env: NodeJS.ProcessEnv;
}

/**
 * Reads config files, later ones overriding earlier ones (as `knot-resolver -c A -c B` merges
 * them), and validates the result; relative paths in it are resolved against the first file's
 * directory. STDIN ("-" on the command line) reads standard input (relative paths then against the
 * current directory). `strict: false` skips the file-system checks.
 */
export function loadConfigs(files: readonly string[], strict: boolean, io: CliIo): KresConfig {
  let data: unknown = {};
  for (const file of files) {
    const parsed = file === STDIN ? parseConfigText(io.readStdin(), "<stdin>") : readConfigFile(file);
    data = deepMerge(data, parsed ?? {});
  }
  const first = files[0];
  const baseDir = first === undefined || first === STDIN ? process.cwd() : path.dirname(path.resolve(first));
  return validateConfig(data, { strict, baseDir });
}

/** The text to show for an error that is the user's to fix; undefined for anything else (a bug). */
export function userErrorMessage(e: unknown, source?: string): string | undefined {
  if (e instanceof ConfigValidationError)
    return source ? `${source}: ${formatProblems(e.problems)}` : formatProblems(e.problems);
  if (e instanceof ConfigParseError || e instanceof CliError) return e.message;
  return undefined;
}

/**
 * Runs a command body: a user error is printed as "kresctl: message" and sets exit code 1 (or the
 * CliError's code); anything else is a bug and is printed with its stack.
 */
export async function runCommand(
  ctx: CommandContext,
  body: () => void | Promise<void>,
  source?: string,
): Promise<void> {
  try {
    await body();
  } catch (e) {
    const message = userErrorMessage(e, source);
    if (message !== undefined) {
      ctx.io.err(`kresctl: ${message}\n`);
      ctx.exitCode = e instanceof CliError ? e.exitCode : 1;
    } else {
      ctx.io.err(`kresctl: internal error: ${describeError(e)}\n`);
      ctx.exitCode = 70; // EX_SOFTWARE
    }
  }
}

/** Writes text to a file, or to standard output when no file (or "-") is given. */
export function writeOutput(io: CliIo, text: string, file: string | undefined): void {
  if (!file || file === STDIN) {
    io.out(text);
    return;
  }
  try {
    fs.writeFileSync(file, text);
  } catch (e) {
    throw new CliError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
}

/** How several file arguments are named in messages: "a.yaml + b.yaml". */
export function sourceName(files: readonly string[]): string {
  return files.map(displayName).join(" + ");
}

/** The FILE... positional of validate and convert: one or more files merged, as upstream. */
export function filesPositional<T>(y: Argv<T>): Argv<T & { files: string[] }> {
  return y.positional("files", {
    type: "string",
    array: true,
    default: [DEFAULT_CONFIG_FILE],
    describe:
      'Configuration files (YAML or JSON), merged in order as `knot-resolver -c FILE -c FILE` merges them; "-" reads standard input',
  }) as Argv<T & { files: string[] }>;
}

/** --strict, off by default as upstream's since 6.0.15. */
export function strictOption<T>(y: Argv<T>): Argv<T & { strict: boolean }> {
  return y.option("strict", {
    type: "boolean",
    default: false,
    describe:
      "Also check the file system as the resolver would (paths exist, are readable or writable); checks run as the current user",
  }) as Argv<T & { strict: boolean }>;
}
