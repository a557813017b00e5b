import type { Argv, CommandModule } from "yargs";
import { CliError, runCommand, type CommandContext, type GlobalArgs } from "../common.js";
import { clientFor } from "../http.js";
import { dryRunOptions, dryRunQuery, printPlan, type DryRunArgs } from "../plan.js";

interface ReloadArgs extends GlobalArgs, DryRunArgs {
  force: boolean;
  yes: boolean;
}

const DROPS =
  "the running configuration has changes that are not in the config files (made without --persist); reloading drops them";

/**
 * `kresctl reload [--force] [--yes] [--dry-run[=canary]]`: re-read the config files; prints nothing on success, as
 * upstream. When the running config differs from the files it asks first on a terminal; a script
 * (standard input not a terminal) gets the warning on stderr and the reload, as it did before.
 */
export function reloadCommand(ctx: CommandContext): CommandModule<GlobalArgs, ReloadArgs> {
  return {
    command: "reload",
    describe:
      "Re-read the configuration files and apply them with a rolling restart of the workers (no DNS outage)",
    builder: (y: Argv<GlobalArgs>) =>
      dryRunOptions(y)
        .option("force", {
          type: "boolean",
          default: false,
          describe: "Restart every worker even when the configuration did not change",
        })
        .option("yes", {
          alias: "y",
          type: "boolean",
          default: false,
          describe: "Reload without asking even when that drops changes not persisted to the files",
        }) as Argv<ReloadArgs>,
    handler: (args) =>
      runCommand(ctx, async () => {
        const client = clientFor(args, ctx.env);
        const path = args.force ? "/reload/force" : "/reload";
        // A dry run drops nothing: no question to ask.
        const dryRun = dryRunQuery(args);
        if (dryRun) {
          printPlan(ctx, args, await client.json("POST", `${path}?${dryRun}`));
          return;
        }
        if (!args.yes) {
          // A manager that cannot tell (an older one, upstream's) is reloaded as before.
          const answer = await client.send("GET", "/");
          let status: { "unpersisted-changes"?: unknown } = {};
          try {
            if (answer.status === 200) status = JSON.parse(answer.text) as typeof status;
          } catch {
            // not JSON: nothing to tell
          }
          if (status["unpersisted-changes"] === true) {
            if (ctx.io.confirm) {
              if (!(await ctx.io.confirm(`${DROPS}. Reload?`)))
                throw new CliError("reload cancelled; nothing changed (--yes reloads without asking)");
            } else ctx.io.err(`warning: ${DROPS} (--yes skips this warning)\n`);
          }
        }
        await client.call("POST", path);
      }),
  };
}
