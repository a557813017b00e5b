import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Argv, CommandModule } from "yargs";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { shellQuote } from "../../utils/shell.js";
import { clientFor } from "../http.js";
import { PROCESS_TYPES, fetchProcesses, type ProcessType } from "./pids.js";

interface DebugArgs extends GlobalArgs {
  targets: (string | number)[];
  gdb?: string;
  sudo: boolean;
  "print-only": boolean;
  "--"?: (string | number)[];
}

/** An executable: a path (must exist), or a name looked up on $PATH. */
export function findExecutable(name: string, env: NodeJS.ProcessEnv): string {
  if (name.includes("/")) {
    const p = path.resolve(name);
    if (!fs.existsSync(p)) throw new CliError(`cannot find '${name}'`);
    return p;
  }
  for (const dir of (env.PATH ?? "").split(":").filter(Boolean)) {
    const p = path.join(dir, name);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  throw new CliError(`cannot find '${name}' on $PATH${name === "gdb" ? "; is GDB installed?" : ""}`);
}

/**
 * The gdb command line that attaches to every PID, as upstream's `kresctl debug` builds it: one
 * inferior per process (add-inferior / inferior N / attach PID), back on the first at the end.
 */
export function gdbCommandLine(
  gdb: string,
  pids: readonly number[],
  extra: readonly string[],
  sudo?: string,
): string[] {
  const evals: string[] = ["set detach-on-fork off", "set schedule-multiple on", `attach ${pids[0]}`];
  pids.slice(1).forEach((pid, i) => evals.push("add-inferior", `inferior ${i + 2}`, `attach ${pid}`));
  if (pids.length > 1) {
    evals.push(
      "inferior 1",
      `echo \\n\\nYou are now debugging ${pids.length} Knot Resolver processes. To switch between them, use 'inferior <n>' with <n> from 1 to ${pids.length}.\\n\\n`,
    );
  }
  return [...(sudo ? [sudo, "--"] : []), gdb, ...evals.flatMap((e) => ["-init-eval-command", e]), ...extra];
}

/** Runs gdb in the foreground; kresctl ignores ^C meanwhile (gdb uses it) and exits with gdb's status. */
function runInForeground(argv: readonly string[]): Promise<number> {
  const ignore = () => {};
  for (const s of ["SIGINT", "SIGQUIT"] as const) process.on(s, ignore);
  return new Promise<number>((resolve, reject) => {
    const child = spawn(argv[0] as string, argv.slice(1), { stdio: "inherit" });
    child.on("error", (e) => reject(new CliError(`cannot run ${argv[0]}: ${e.message}`)));
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  }).finally(() => {
    for (const s of ["SIGINT", "SIGQUIT"] as const) process.off(s, ignore);
  });
}

/** What to attach to: PIDs given on the command line, else the manager's processes of one type. */
async function targetPids(args: DebugArgs, ctx: CommandContext): Promise<number[]> {
  const words = args.targets.map(String);
  if (words.length > 0 && words.every((w) => /^\d+$/.test(w))) return words.map(Number);
  if (
    words.length > 1 ||
    (words[0] !== undefined && !(PROCESS_TYPES as readonly string[]).includes(words[0]))
  )
    throw new CliError(`debug: expected kresd, gc, all or PIDs, got '${words.join(" ")}'`);
  const type = (words[0] ?? "kresd") as ProcessType;
  const rows = await fetchProcesses(clientFor(args, ctx.env), type);
  // The manager is node, not something to debug with the workers.
  const pids = rows.filter((r) => r.type !== "manager").map((r) => r.pid);
  if (pids.length === 0) throw new CliError(`there are no ${type} processes to debug`);
  return pids;
}

/** `kresctl debug [kresd|gc|all|PID...] [--gdb PATH] [--print-only] [-- GDB-ARGS]`: gdb on the workers. */
export function debugCommand(ctx: CommandContext): CommandModule<GlobalArgs, DebugArgs> {
  return {
    command: "debug [targets..]",
    describe: "Attach GDB to the resolver's workers (or other processes); arguments after -- go to GDB",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("targets", {
          type: "string",
          array: true,
          default: [] as string[],
          describe: "kresd (the default), gc, all, or the PIDs to attach to",
        })
        .option("gdb", {
          type: "string",
          requiresArg: true,
          describe: "GDB to run: a path, or a command on $PATH (default: gdb)",
        })
        .option("sudo", { type: "boolean", default: false, describe: "Run GDB with sudo" })
        .option("print-only", {
          type: "boolean",
          default: false,
          describe: "Print the GDB command line instead of running it",
        })
        .parserConfiguration({ "populate--": true })
        .example("$0 debug -- -batch -ex 'thread apply all bt'", "") as Argv<DebugArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const gdb = findExecutable(args.gdb ?? "gdb", ctx.env);
        const sudo = args.sudo ? findExecutable("sudo", ctx.env) : undefined;
        const pids = await targetPids(args, ctx);
        const argv = gdbCommandLine(gdb, pids, (args["--"] ?? []).map(String), sudo);
        if (args["print-only"]) {
          ctx.io.out(argv.map(shellQuote).join(" ") + "\n");
          return;
        }
        ctx.exitCode = await runInForeground(argv);
      }),
  };
}
