/**
 * The config files the manager started from, as the place changes are persisted to: staging a
 * change's new file texts (durably, before any worker moves), and knowing whether the running
 * config holds changes the files lack.
 */
import * as fs from "node:fs";
import { editConfigFiles, UneditableText, type FileEdits } from "../datamodel/file-edits/index.js";
import { structuralEtag } from "../utils/etag.js";
import { stageFileDurable, type StagedFile } from "../utils/files.js";
import type { Snapshot, StagedWrite } from "./config-store.js";
import { PersistIncomplete, PersistRefused } from "./errors.js";
import { logger } from "./logger.js";

/** An fs error as "CODE (what it means)". */
function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  if (!err.code) return String(err.message ?? e);
  const meaning = /^[A-Z]+: ([^,]+)/.exec(err.message)?.[1];
  return meaning ? `${err.code} (${meaning})` : err.code;
}

export class ConfigFiles {
  constructor(
    readonly files: readonly string[],
    /**
     * The ETag of what the files say, as the manager last read or wrote them (at start, on reload,
     * on a persisted change); edits made to them since by hand are not looked for.
     */
    private filesEtag: string,
  ) {}

  /** The files were read again (a reload): this is what they say now. */
  markRead(etag: string): void {
    this.filesEtag = etag;
  }

  /** Whether the running config holds changes the files lack (so a reload would drop them). */
  unpersisted(running: Snapshot): boolean {
    return running.etag !== this.filesEtag;
  }

  /**
   * The files' new texts for the change from `before` to `next`, written beside them and flushed;
   * PersistRefused (naming the file and why) when that cannot be done, with nothing left behind.
   */
  stage(before: Snapshot, next: Snapshot): StagedWrite {
    const texts = this.files.map((file) => {
      try {
        return { file, text: fs.readFileSync(file, "utf8") };
      } catch (e) {
        throw new PersistRefused(`not changed: cannot read ${file} to persist the change: ${reason(e)}`);
      }
    });
    let edits: FileEdits;
    try {
      edits = editConfigFiles(texts, before.document, next.document);
    } catch (e) {
      if (e instanceof UneditableText)
        throw new PersistRefused(`not changed: cannot persist: ${e.message}`, 409);
      throw e;
    }
    const staged: StagedFile[] = [];
    for (const edit of edits.changed) {
      try {
        staged.push(stageFileDurable(edit.file, edit.text));
      } catch (e) {
        for (const s of staged) s.discard();
        throw new PersistRefused(`not changed: cannot write ${edit.file}: ${reason(e)}`);
      }
    }
    return {
      commit: () => {
        const done: string[] = [];
        for (const s of staged) {
          try {
            s.commit();
            done.push(s.file);
          } catch (e) {
            for (const rest of staged.slice(done.length + 1)) rest.discard();
            throw new PersistIncomplete(
              `the change was applied and runs (ETag ${next.etag}), but it is not persisted: cannot replace ${s.file}: ${reason(e)}` +
                (done.length > 0 ? ` (already written: ${done.join(", ")})` : ""),
              next.etag,
            );
          }
        }
        this.filesEtag = structuralEtag(edits.merged);
        if (done.length > 0) logger.notice(`persisted the change (ETag ${next.etag}) to ${done.join(", ")}`);
      },
      discard: () => {
        for (const s of staged) s.discard();
      },
    };
  }
}
