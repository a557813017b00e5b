import type { Argv, CommandModule } from "yargs";
import { isPlainObject } from "../../utils/parsing.js";
import { printable } from "../../utils/printable.js";
import { unifiedDiff } from "../../utils/unified-diff.js";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { dumpData } from "../format.js";
import { clientFor, type ApiClient } from "../http.js";
import { dryRunOptions, dryRunQuery, printPlan, type DryRunArgs } from "../plan.js";

/** An entry of GET /v1/history, as far as kresctl reads it. */
interface Entry {
  id: string;
  etag: string;
  time: string;
  source: string;
  kind: string;
  outcome: string;
  message?: string;
  previous?: string;
}

interface Page {
  entries: Entry[];
  next: string | null;
}

const ETAG_HELP = "ETag of a recorded configuration (with or without its quotes), as `history list` shows it";

/** An ETag without its quotes (and weak prefix). */
function bare(etag: string): string {
  return etag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/** The ETag as a path segment: without its quotes (the manager takes both), percent-encoded. */
function etagPath(etag: string): string {
  return `/v1/history/${encodeURIComponent(bare(etag))}`;
}

/** How a diff names a recorded configuration (no quotes: the diff's header would escape them). */
function labelOf(e: Entry): string {
  return printable(`${bare(e.etag)} (entry ${e.id})`);
}

function isEntry(e: unknown): e is Entry {
  return isPlainObject(e) && typeof e.id === "string" && typeof e.etag === "string";
}

async function fetchEntry(client: ApiClient, etag: string): Promise<Entry & { config: unknown }> {
  const entry = await client.json("GET", etagPath(etag));
  if (!isEntry(entry) || !("config" in entry))
    throw new CliError(`GET ${etagPath(etag)}: expected a history entry with its config`);
  return entry as Entry & { config: unknown };
}

/** One line per entry: ID, time, kind, outcome, ETag, source (and the message, indented, below). */
function table(entries: Entry[]): string {
  const rows = [["ID", "TIME", "KIND", "OUTCOME", "ETAG", "SOURCE"]].concat(
    entries.map((e) => [e.id, e.time, e.kind, e.outcome, e.etag, e.source].map((v) => printable(String(v)))),
  );
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines: string[] = [];
  for (const [i, r] of rows.entries()) {
    lines.push(
      r
        .map((v, j) => (j === r.length - 1 ? v : v.padEnd(widths[j]!)))
        .join("  ")
        .trimEnd(),
    );
    const message = i > 0 ? entries[i - 1]?.message : undefined;
    if (message) lines.push(`${" ".repeat(widths[0]! + 2)}${printable(message)}`);
  }
  return lines.join("\n") + "\n";
}

interface ListArgs extends GlobalArgs {
  limit?: number;
  before?: string;
  json: boolean;
}

function listCommand(ctx: CommandContext): CommandModule<GlobalArgs, ListArgs> {
  return {
    command: "list",
    describe: "List the recorded configurations, newest first",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .option("limit", {
          alias: "n",
          type: "number",
          requiresArg: true,
          describe: "How many entries (default 20, at most 1000)",
        })
        .option("before", {
          type: "string",
          requiresArg: true,
          describe: "Only entries older than the one with this ID (the next page)",
        })
        .option("json", { type: "boolean", default: false, describe: "Print the page as JSON" })
        .example("$0 history list -n 5", "") as Argv<ListArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const query = new URLSearchParams();
        if (args.limit !== undefined) query.set("limit", String(args.limit));
        if (args.before !== undefined) query.set("before", args.before);
        const url = `/v1/history${query.size > 0 ? `?${query}` : ""}`;
        const page = (await clientFor(args, ctx.env).json("GET", url)) as Page;
        if (!isPlainObject(page) || !Array.isArray(page.entries) || !page.entries.every(isEntry))
          throw new CliError(`GET ${url}: expected a page of history entries`);
        if (args.json) {
          ctx.io.out(dumpData(page, "json"));
          return;
        }
        if (page.entries.length === 0) {
          ctx.io.out("no configuration recorded\n");
          return;
        }
        ctx.io.out(table(page.entries));
        if (page.next) ctx.io.out(`more: kresctl history list --before ${printable(page.next)}\n`);
      }),
  };
}

interface ShowArgs extends GlobalArgs {
  etag: string;
  json: boolean;
}

function showCommand(ctx: CommandContext): CommandModule<GlobalArgs, ShowArgs> {
  return {
    command: "show <etag>",
    describe: "Print a recorded configuration (YAML, its entry as comments above it)",
    builder: (y: Argv<GlobalArgs>) =>
      y.positional("etag", { type: "string", demandOption: true, describe: ETAG_HELP }).option("json", {
        type: "boolean",
        default: false,
        describe: "Print the entry and its configuration as JSON",
      }) as Argv<ShowArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const entry = await fetchEntry(clientFor(args, ctx.env), args.etag);
        if (args.json) {
          ctx.io.out(dumpData(entry, "json"));
          return;
        }
        // Comments first, so the output is a config file as it was.
        const { config, ...about } = entry;
        const comments = Object.entries(about).map(([k, v]) => `# ${k}: ${printable(String(v))}\n`);
        ctx.io.out(comments.join("") + dumpData(config, "yaml"));
      }),
  };
}

interface DiffArgs extends GlobalArgs {
  a: string;
  b?: string;
}

function diffCommand(ctx: CommandContext): CommandModule<GlobalArgs, DiffArgs> {
  return {
    command: "diff <a> [b]",
    describe:
      "Show what changes from recorded configuration A to B (default: the running one), as a unified YAML diff",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .positional("a", { type: "string", demandOption: true, describe: ETAG_HELP })
        .positional("b", {
          type: "string",
          describe: "Another recorded configuration's ETag; the running configuration by default",
        })
        .example("$0 history diff 0f3c…", "what changed since that configuration") as Argv<DiffArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const client = clientFor(args, ctx.env);
        const a = await fetchEntry(client, args.a);
        const b =
          args.b === undefined
            ? { label: "running", config: await client.json("GET", "/v1/config") }
            : await fetchEntry(client, args.b).then((e) => ({
                label: `${e.etag} (entry ${e.id})`,
                config: e.config,
              }));
        ctx.io.out(unifiedDiff(dumpData(a.config, "yaml"), dumpData(b.config, "yaml"), labelOf(a), b.label));
      }),
  };
}

interface RestoreArgs extends GlobalArgs, DryRunArgs {
  etag: string;
  yes: boolean;
  persist?: boolean;
}

function restoreCommand(ctx: CommandContext): CommandModule<GlobalArgs, RestoreArgs> {
  return {
    command: "restore <etag>",
    describe:
      "Make a recorded configuration the running one again (validated, canary, rolling restart, as any change)",
    builder: (y: Argv<GlobalArgs>) =>
      dryRunOptions(y)
        .positional("etag", { type: "string", demandOption: true, describe: ETAG_HELP })
        .option("yes", { alias: "y", type: "boolean", default: false, describe: "Restore without asking" })
        .option("persist", {
          type: "boolean",
          describe:
            "Also write the restored configuration into the config files (--no-persist: do not, whatever management.persist says)",
        }) as Argv<RestoreArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const client = clientFor(args, ctx.env);
        const query = new URLSearchParams();
        if (args.persist !== undefined) query.set("persist", String(args.persist));
        const dryRun = dryRunQuery(args);
        const url = `${etagPath(args.etag)}/restore${query.size > 0 ? `?${query}` : ""}`;
        if (dryRun) {
          // Nothing changes: nothing to ask.
          printPlan(ctx, args, await client.json("POST", `${url}${query.size > 0 ? "&" : "?"}${dryRun}`));
          return;
        }
        // Asked on a terminal only: a script is never left waiting (as `reload`).
        if (!args.yes && ctx.io.confirm) {
          const entry = await fetchEntry(client, args.etag);
          const what = printable(`${entry.etag} (entry ${entry.id}, ${entry.time}, ${entry.source})`);
          if (!(await ctx.io.confirm(`Restore the configuration ${what}, replacing the running one?`)))
            throw new CliError("restore cancelled; nothing changed (--yes restores without asking)");
        }
        const result = await client.json("POST", url);
        const r = isPlainObject(result) ? result : {};
        ctx.io.out(
          `restored ${printable(String(r["restored-from"]))}: running ETag ${printable(String(r.etag))}\n`,
        );
      }),
  };
}

/** `kresctl history list|show|diff|restore`: the configurations the manager recorded. */
export function historyCommand(ctx: CommandContext): CommandModule<GlobalArgs, GlobalArgs> {
  return {
    command: "history",
    describe: "List, show, compare and restore the configurations the resolver ran",
    builder: (y: Argv<GlobalArgs>) =>
      y
        .command(listCommand(ctx))
        .command(showCommand(ctx))
        .command(diffCommand(ctx))
        .command(restoreCommand(ctx))
        .demandCommand(1, "Say which operation: list, show, diff or restore."),
    handler: () => {},
  };
}
