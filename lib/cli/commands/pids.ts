import type { Argv, CommandModule } from "yargs";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor, type ApiClient } from "../http.js";

export const PROCESS_TYPES = ["kresd", "gc", "all"] as const;
export type ProcessType = (typeof PROCESS_TYPES)[number];

/** A row of GET /processes/<type>. */
export interface ProcessInfo {
  type: string;
  id: string;
  pid: number;
  status: string;
}

/** The manager's processes of one type (GET /processes/<type>), checked to be what the API promises. */
export async function fetchProcesses(client: ApiClient, type: ProcessType): Promise<ProcessInfo[]> {
  const rows = await client.json("GET", `/processes/${type}`);
  const ok = (r: unknown): r is ProcessInfo =>
    typeof r === "object" && r !== null && Number.isInteger((r as ProcessInfo).pid);
  if (!Array.isArray(rows) || !rows.every(ok))
    throw new CliError(`GET /processes/${type}: expected a list of processes with PIDs`);
  return rows;
}

interface PidsArgs extends GlobalArgs {
  type: ProcessType;
  json: boolean;
}

/** `kresctl pids [kresd|gc|all] [--json]`: one PID per line, as upstream; --json the full rows. */
export function pidsCommand(ctx: CommandContext): CommandModule<GlobalArgs, PidsArgs> {
  return {
    command: "pids [type]",
    describe: "List the PIDs of the resolver's processes",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("type", {
          choices: PROCESS_TYPES,
          default: "all" as ProcessType,
          describe: "Which processes: kresd workers, the cache garbage collector, or all",
        })
        .option("json", {
          type: "boolean",
          default: false,
          describe: "Print the processes as JSON (type, id, pid, status)",
        }) as Argv<PidsArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const rows = await fetchProcesses(clientFor(args, ctx.env), args.type);
        ctx.io.out(args.json ? JSON.stringify(rows, null, 2) + "\n" : rows.map((r) => `${r.pid}\n`).join(""));
      }),
  };
}
