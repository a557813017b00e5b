/**
 * A dry run's plan as kresctl prints it: what would change and which processes would move, then
 * the YAML and Lua diffs; coloured on a terminal only.
 */
import type { Argv } from "yargs";
import { changePlanSchema, type ChangePlan, type PlanChange } from "../datamodel/change-plan.js";
import { printable } from "../utils/printable.js";
import { CliError, type CommandContext } from "./common.js";
import { dumpData } from "./format.js";

export interface DryRunArgs {
  "dry-run"?: boolean;
  canary?: boolean;
  json?: boolean;
}

/** --dry-run, --canary (--dry-run=canary is the same; main.ts spells it so) and --json for the plan. */
export function dryRunOptions<T>(y: Argv<T>, jsonToo = true): Argv<T & DryRunArgs> {
  const withDryRun = y
    .option("dry-run", {
      type: "boolean",
      describe:
        "Change nothing: print what the change would do (which keys, the diffs, which processes move)",
    })
    .option("canary", {
      type: "boolean",
      describe:
        "With --dry-run (or as --dry-run=canary): also start a canary worker with the new configuration, see it come up, stop it",
    });
  return (
    jsonToo ? withDryRun.option("json", { type: "boolean", describe: "Print the plan as JSON" }) : withDryRun
  ) as Argv<T & DryRunArgs>;
}

/** `?dry-run=` for the arguments, or '' when the change is to be made. */
export function dryRunQuery(args: DryRunArgs): string {
  if (args.canary) return "dry-run=canary";
  return args["dry-run"] ? "dry-run=true" : "";
}

/** The manager's answer as a plan; CliError when it is not one (an older manager ignores ?dry-run=). */
export function parsePlan(answer: unknown): ChangePlan {
  const plan = changePlanSchema.safeParse(answer);
  if (!plan.success)
    throw new CliError(
      "the manager did not answer with a dry-run plan (is it older than this kresctl?); whether anything changed, see GET / or the log",
    );
  return plan.data;
}

type Paint = (code: string, text: string) => string;

const value = (v: unknown) => printable(JSON.stringify(v) ?? "undefined");

function changeLine(c: PlanChange, paint: Paint): string {
  const at = printable(c.pointer === "" ? "(the whole configuration)" : c.pointer);
  switch (c.op) {
    case "add":
      return paint("32", `  + ${at}: ${value(c.new)}`);
    case "remove":
      return paint("31", `  - ${at} (was ${value(c.old)})`);
    case "replace":
      return paint("33", `  ~ ${at}: ${value(c.old)} → ${value(c.new)}`);
  }
}

/** A unified diff, its lines coloured by kind; every line made printable (config text reaches it). */
function diffLines(diff: string, paint: Paint): string[] {
  return diff
    .replace(/\n$/, "")
    .split("\n")
    .map((line) => {
      const text = printable(line);
      if (/^(---|\+\+\+) /.test(line)) return paint("1", text);
      if (line.startsWith("@@")) return paint("36", text);
      if (line.startsWith("+")) return paint("32", text);
      if (line.startsWith("-")) return paint("31", text);
      return text;
    });
}

/** The plan as text for people; ANSI colours only with `colour` (a terminal). */
export function formatPlan(plan: ChangePlan, colour: boolean): string {
  const paint: Paint = colour ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
  const out: string[] = [paint("1", "Dry run: nothing was changed.")];
  out.push(
    plan.changed
      ? `Configuration: ETag ${plan.etag} → ${plan["new-etag"]}`
      : `Configuration: unchanged (ETag ${plan.etag}); the change would do nothing`,
  );
  if (plan.changes.length > 0) {
    out.push("", paint("1", "Changes:"));
    for (const c of plan.changes) out.push(changeLine(c, paint));
  }
  const p = plan.processes;
  const names = (list: string[]) => (list.length > 0 ? list.map(printable).join(" ") : "-");
  out.push(
    "",
    paint("1", "Processes:"),
    `  restart    ${p.restart.length > 0 ? paint("33", names(p.restart)) : "-"}`,
    `  start      ${p.start.length > 0 ? paint("32", names(p.start)) : "-"}`,
    `  stop       ${p.stop.length > 0 ? paint("31", names(p.stop)) : "-"}`,
    `  unchanged  ${names(p.unchanged)}`,
    "",
    `Workers' Lua: ${plan["lua-changed"] ? "changes (diff below)" : "unchanged"}`,
  );
  if (plan.canary)
    out.push(
      `Canary: ${plan.canary.ok ? paint("32", "ok") : paint("31", "FAILED")}: ${printable(plan.canary.message)}`,
    );
  if (plan["yaml-diff"] !== "") out.push("", ...diffLines(plan["yaml-diff"], paint));
  if (plan["lua-diff"] !== "") out.push("", ...diffLines(plan["lua-diff"], paint));
  return out.join("\n") + "\n";
}

/**
 * Prints a dry run's answer: raw with --json, else readable. A canary that did not come up makes
 * kresctl exit 1 (the plan is printed all the same).
 */
export function printPlan(ctx: CommandContext, args: DryRunArgs, answer: unknown): void {
  const plan = parsePlan(answer);
  ctx.io.out(args.json ? dumpData(plan, "json") : formatPlan(plan, ctx.io.colour === true));
  if (plan.canary && !plan.canary.ok) {
    ctx.io.err("kresctl: the canary did not come up with the new configuration\n");
    ctx.exitCode = 1;
  }
}
