import { z } from "zod";
import { intPositive, uncheckedPath } from "../../types/index.js";

/** Where the history is kept when the config says nothing; the packages create it for the service user. */
export const DEFAULT_HISTORY_STORAGE = "/var/lib/knot-resolver/history";
export const DEFAULT_HISTORY_KEEP = 100;
/** More entries than this would make every listing and pruning walk a huge directory. */
export const HISTORY_KEEP_MAX = 10_000;

/**
 * The `history` section, an extension of this project (upstream Knot Resolver records nothing of
 * past configurations). The directory is not checked at validation: history never refuses a start;
 * a directory the manager cannot use is logged and the history is off until it restarts.
 */
export const historySchema = z
  .strictObject({
    storage: uncheckedPath.prefault(DEFAULT_HISTORY_STORAGE).meta({
      description: `Directory of the configuration history, one file per applied configuration (created if missing, mode 0700: entries may hold secrets); default ${DEFAULT_HISTORY_STORAGE}. Fixed at start.`,
    }),
    keep: intPositive
      .max(HISTORY_KEEP_MAX, { error: `must be at most ${HISTORY_KEEP_MAX}` })
      .default(DEFAULT_HISTORY_KEEP)
      .meta({
        description: "How many entries are kept; the oldest beyond it are removed. Can change at run time.",
      }),
  })
  .prefault({})
  .meta({
    description:
      "Extension of this project, not in upstream Knot Resolver: every configuration that became the running one (API change, reload, SIGHUP, start, rollback, restore) is recorded with its ETag, time, source and document, for GET /v1/history and kresctl history.",
  });
export type HistoryConfig = z.output<typeof historySchema>;
