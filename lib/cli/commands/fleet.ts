import * as fs from "node:fs";
import type { Argv, CommandModule } from "yargs";
import { printable } from "../../utils/printable.js";
import { CliError, displayName, runCommand, STDIN, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor } from "../http.js";

// What the manager answers (lib/manager/fleet/types.ts); kresctl only talks HTTP, so the shapes it
// reads are written out here.
interface NodeRow {
  node: string;
  revision: number;
  lag: number;
  health: { ok: boolean; problems: string[] };
  failed?: { revision: number; error: string };
  updated: string;
}
interface FleetStatus {
  name: string;
  node: string;
  connected: boolean;
  "disconnected-since"?: string;
  "etcd-error"?: string;
  "applied-revision": number;
  "desired-revision"?: number;
  source: "etcd" | "last-known";
  "leader-node"?: string;
  rollout?: {
    revision: number;
    phase: string;
    canary?: string;
    wave: number;
    failure?: { node: string; reason: string };
  };
  nodes: NodeRow[];
}
interface ApplyResult {
  revision?: number;
  "dry-run": boolean;
  changed: boolean;
  previous?: number;
  diff: string;
}
interface HistoryRow {
  revision: number;
  at: string;
  source: string;
  outcome: string;
  reason?: string;
  current: boolean;
}

/** Columns padded to their widest cell; nothing unprintable reaches the terminal. */
export function table(rows: readonly (readonly string[])[]): string {
  const clean = rows.map((r) => r.map((c) => printable(c)));
  const widths = clean[0]!.map((_c, i) => Math.max(...clean.map((r) => (r[i] ?? "").length)));
  return (
    clean.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n") +
    "\n"
  );
}

/** The status as kresctl prints it: the fleet, the rollout, one line per node. */
export function formatStatus(s: FleetStatus): string {
  const lines = [
    `fleet ${s.name}, seen from node ${s.node}: revision ${s["desired-revision"] ?? "none"} wanted, leader ${s["leader-node"] ?? "unknown"}`,
  ];
  if (!s.connected)
    lines.push(
      `etcd unreachable since ${s["disconnected-since"] ?? "?"} (${s["etcd-error"] ?? "no answer"}): nodes as last seen; DNS goes on`,
    );
  const r = s.rollout;
  if (r)
    lines.push(
      `rollout of revision ${r.revision}: ${r.phase}${r.canary ? `, canary ${r.canary}` : ""}${r.wave ? `, wave ${r.wave}` : ""}${r.failure ? `; stopped at ${r.failure.node}: ${r.failure.reason}` : ""}`,
    );
  const rows = [["NODE", "REVISION", "LAG", "HEALTH", "UPDATED"]];
  for (const n of s.nodes)
    rows.push([
      n.node,
      String(n.revision),
      String(n.lag),
      n.health.ok ? "ok" : `unhealthy: ${n.health.problems.join("; ")}`,
      n.updated,
    ]);
  return `${lines.join("\n")}\n${table(rows)}`;
}

function readDocument(ctx: CommandContext, file: string): string {
  if (file === STDIN) return ctx.io.readStdin();
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new CliError(
      `${displayName(file)}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
    );
  }
}

function printApplied(ctx: CommandContext, r: ApplyResult, what: string): void {
  if (r.diff !== "") ctx.io.out(r.diff.endsWith("\n") ? r.diff : `${r.diff}\n`);
  if (r["dry-run"])
    ctx.io.out(
      `dry run: valid on this node; ${r.changed ? "would become a new revision" : "the same as the current revision"}\n`,
    );
  else if (r.revision === undefined)
    ctx.io.out(`unchanged: revision ${r.previous ?? "none"} is the same document\n`);
  else
    ctx.io.out(`revision ${r.revision} ${what}; the elected manager rolls it out (kresctl fleet status)\n`);
}

interface ApplyArgs extends GlobalArgs {
  file: string;
  "dry-run": boolean;
}
interface JsonArgs extends GlobalArgs {
  json: boolean;
}
interface RollbackArgs extends GlobalArgs {
  revision?: number;
}

/** `kresctl fleet apply|status|history|rollback`: the fleet this node belongs to, over its API. */
export function fleetCommand(ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> {
  const jsonOption = <T>(y: Argv<T>) =>
    y.option("json", {
      type: "boolean",
      default: false,
      describe: "Print the manager's JSON answer",
    }) as Argv<T & { json: boolean }>;
  const apply: CommandModule<GlobalArgs, ApplyArgs> = {
    command: "apply <file>",
    describe: "Put FILE (YAML) into etcd as the fleet's next config revision, rolled out node by node",
    builder: (y) =>
      y
        .positional("file", {
          type: "string",
          demandOption: true,
          describe: "The fleet document ('-': standard input)",
        })
        .option("dry-run", {
          type: "boolean",
          default: false,
          describe: "Only validate it as this node would run it and show the diff",
        }) as Argv<ApplyArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const text = readDocument(ctx, args.file);
        const r = (await clientFor(args, ctx.env).json(
          "PUT",
          `/v1/fleet/config${args["dry-run"] ? "?dry-run=true" : ""}`,
          { body: text, contentType: "application/yaml" },
        )) as ApplyResult;
        printApplied(ctx, r, "put");
      }),
  };
  const status: CommandModule<GlobalArgs, JsonArgs> = {
    command: "status",
    describe: "Every node of the fleet: revision, lag, health; the rollout and the leader",
    builder: (y) => jsonOption(y),
    handler: (args) =>
      runCommand(ctx, async () => {
        const s = (await clientFor(args, ctx.env).json("GET", "/v1/fleet")) as FleetStatus;
        ctx.io.out(args.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
      }),
  };
  const history: CommandModule<GlobalArgs, JsonArgs> = {
    command: "history",
    describe: "The fleet config's revisions, newest first, with what became of each",
    builder: (y) => jsonOption(y),
    handler: (args) =>
      runCommand(ctx, async () => {
        const rows = (await clientFor(args, ctx.env).json("GET", "/v1/fleet/history")) as HistoryRow[];
        if (args.json) return void ctx.io.out(`${JSON.stringify(rows, null, 2)}\n`);
        ctx.io.out(
          table([
            ["REVISION", "AT", "OUTCOME", "SOURCE"],
            ...rows.map((h) => [
              `${h.revision}${h.current ? "*" : ""}`,
              h.at,
              h.reason ? `${h.outcome} (${h.reason})` : h.outcome,
              h.source,
            ]),
          ]),
        );
      }),
  };
  const rollback: CommandModule<GlobalArgs, RollbackArgs> = {
    command: "rollback [revision]",
    describe: "Put an earlier revision back (default: the last one before the current that rolled out)",
    builder: (y) =>
      y.positional("revision", {
        type: "number",
        describe: "The revision to return to",
      }) as Argv<RollbackArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const rev = args.revision;
        if (rev !== undefined && !(Number.isInteger(rev) && rev > 0))
          throw new CliError(`fleet rollback: REVISION must be a revision number, not ${String(rev)}`);
        const r = (await clientFor(args, ctx.env).json(
          "POST",
          `/v1/fleet/rollback${rev !== undefined ? `?revision=${rev}` : ""}`,
        )) as ApplyResult;
        printApplied(ctx, r, "puts the earlier revision back");
      }),
  };
  return {
    command: "fleet",
    describe: "The fleet of resolvers this one belongs to (an extension: the 'fleet' section)",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(apply as unknown as CommandModule<GlobalArgs, GlobalArgs>)
        .command(status as unknown as CommandModule<GlobalArgs, GlobalArgs>)
        .command(history as unknown as CommandModule<GlobalArgs, GlobalArgs>)
        .command(rollback as unknown as CommandModule<GlobalArgs, GlobalArgs>)
        .demandCommand(1, "Say which operation: apply, status, history or rollback."),
    handler: () => {},
  };
}
