/**
 * The running configuration, saved in the rundir so that a manager restarted by the same
 * supervisord (after a crash, `supervisorctl restart manager`) resumes it instead of re-reading the
 * files, which would silently undo every change acknowledged through the API since the start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { ConfigValidationError } from "../datamodel/errors.js";
import { validateAsFrom } from "../datamodel/load.js";
import { structuralEtag } from "../utils/etag.js";
import { readFileIfExists, writeFileAtomic } from "../utils/files.js";
import type { ConfigVersion, Snapshot } from "./config-store.js";
import { logger } from "./logger.js";

/** The file's name in the rundir. */
export const RUNNING_STATE_FILE = "running-config.json";

/** What the file holds. */
const savedStateSchema = z.object({
  format: z.literal(1),
  /** The supervisord the saving manager ran under: only a manager under the same one resumes. */
  "supervisord-pid": z.number().int().positive(),
  etag: z.string(),
  "saved-at": z.string(),
  /** The change that made this config the running one ("PATCH /v1/config/…", "rollback", "start-up"). */
  source: z.string(),
  /** The document as the API shows it; `null` is a document too (a PUT of null). */
  document: z.custom<unknown>((d) => d !== undefined, "missing"),
});

export type SavedState = z.infer<typeof savedStateSchema>;

/** A config taken over from the manager that ran before this one. */
export interface Resumed {
  version: ConfigVersion;
  etag: string;
  savedAt: string;
  source: string;
}

/** What the rundir offers a starting manager. */
export type ResumeOutcome =
  | { kind: "none" }
  /** There is a file, but it cannot be resumed, and why. */
  | { kind: "unusable"; reason: string }
  | { kind: "resumed"; resumed: Resumed };

export function runningStateFile(rundir: string): string {
  return path.join(rundir, RUNNING_STATE_FILE);
}

/**
 * The running config of one supervisord's run. A file is written (atomically: a crash while saving
 * leaves the previous one) after each config became the running one and before the change is
 * answered; mode 0600, since the document may hold secrets (a TLS session-ticket secret). No fsync:
 * what it guards against is the manager dying, not the machine, and a machine that comes back
 * starts afresh, which removes the file.
 */
export class RunningState {
  readonly file: string;

  constructor(
    private readonly rundir: string,
    private readonly supervisordPid: number,
  ) {
    this.file = runningStateFile(rundir);
  }

  /**
   * Saves `snapshot` as the running config. Never throws: the change it records is already done.
   * When the file cannot be written, the older one is removed, so that a restarted manager reads
   * the config files rather than resuming a config older than the one that runs.
   */
  save(snapshot: Snapshot, source: string): void {
    const state: SavedState = {
      format: 1,
      "supervisord-pid": this.supervisordPid,
      etag: snapshot.etag,
      "saved-at": new Date().toISOString(),
      source,
      document: snapshot.document,
    };
    try {
      writeFileAtomic(this.file, JSON.stringify(state), 0o600);
    } catch (e) {
      logger.error(
        `cannot save the running configuration to ${this.file} (${(e as Error).message}); ` +
          "a restarted manager will read the configuration files instead",
      );
      try {
        fs.rmSync(this.file, { force: true });
      } catch (again) {
        logger.crit(`cannot remove ${this.file} either: ${(again as Error).message}`);
      }
    }
  }

  /**
   * The config a manager under this same supervisord saved, validated again as if read from
   * `files` (relative paths resolve as they did). Anything else is not resumed: no file, a file
   * from another supervisord's run, a file that is corrupt or does not validate any more.
   */
  read(files: readonly string[]): ResumeOutcome {
    let text: string | undefined;
    try {
      text = readFileIfExists(this.file);
    } catch (e) {
      return { kind: "unusable", reason: `cannot read it: ${(e as Error).message}` };
    }
    if (text === undefined) return { kind: "none" };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (e) {
      return { kind: "unusable", reason: `not JSON: ${(e as Error).message}` };
    }
    const parsed = savedStateSchema.safeParse(data);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.length ? issue.path.join(".") : "the file";
      return { kind: "unusable", reason: `not a saved configuration (${where}: ${issue?.message})` };
    }
    const saved = parsed.data;
    if (saved["supervisord-pid"] !== this.supervisordPid)
      return {
        kind: "unusable",
        reason: `saved under another supervisord (pid ${saved["supervisord-pid"]}, this one is ${this.supervisordPid})`,
      };
    // The tag the clients were given must come back unchanged; a different one means the
    // document is not what was acknowledged.
    const etag = structuralEtag(saved.document);
    if (etag !== saved.etag)
      return { kind: "unusable", reason: `its document does not have its ETag ${saved.etag} (but ${etag})` };
    let version: ConfigVersion;
    try {
      version = { document: saved.document, config: validateAsFrom(files, saved.document) };
    } catch (e) {
      if (e instanceof ConfigValidationError)
        return {
          kind: "unusable",
          reason: `it does not validate any more: ${e.problems.map((p) => `${p.pointer || "/"}: ${p.message}`).join("; ")}`,
        };
      throw e;
    }
    if (path.resolve(version.config.rundir) !== path.resolve(this.rundir))
      return { kind: "unusable", reason: `it names another rundir (${version.config.rundir})` };
    return {
      kind: "resumed",
      resumed: { version, etag, savedAt: saved["saved-at"], source: saved.source },
    };
  }
}

/**
 * Removes what an earlier run saved: a fresh start (no supervisord on the rundir) reads the files,
 * as upstream does, and nothing of that run may be resumed later.
 */
export function forgetRunningState(rundir: string): void {
  fs.rmSync(runningStateFile(rundir), { force: true });
}
