/**
 * The config files the manager started from, as the place changes are persisted to: staging a
 * change's new file texts (durably, before any worker moves) and telling whether the running config
 * still says what the files say.
 */
import * as fs from "node:fs";
import { editConfigFiles, UneditableText } from "../datamodel/file-edits/index.js";
import { loadConfigFiles } from "../datamodel/load.js";
import { structuralEtag } from "../utils/etag.js";
import { stageFileDurable, type StagedFile } from "../utils/files.js";
import type { Snapshot, StagedWrite } from "./config-store.js";
import { PersistIncomplete, PersistRefused } from "./errors.js";
import { logger } from "./logger.js";

function reason(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ? `${err.code} (${err.message.replace(/^[A-Z]+: /, "").split(",")[0]})` : String(err.message ?? e);
}

export class ConfigFiles {
  // The ETag of what the files say, and the files' identity when it was read (inode, size, mtime).
  private seen: { signature: string; etag: string } | undefined;

  constructor(readonly files: readonly string[]) {}

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
    let edits;
    try {
      edits = editConfigFiles(texts, before.document, next.document);
    } catch (e) {
      if (e instanceof UneditableText) throw new PersistRefused(`not changed: cannot persist: ${e.message}`, 409);
      throw e;
    }
    const staged: StagedFile[] = [];
    for (const edit of edits) {
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
        if (done.length > 0) logger.notice(`persisted the change (ETag ${next.etag}) to ${done.join(", ")}`);
      },
      discard: () => {
        for (const s of staged) s.discard();
      },
    };
  }

  /**
   * Whether `running` differs from what the files say now (so a reload would replace it), or
   * undefined when the files cannot be read or validated. Files are read again only when they
   * changed on disk.
   */
  differ(running: Snapshot): boolean | undefined {
    let signature: string;
    try {
      signature = this.files
        .map((f) => {
          const st = fs.statSync(f);
          return `${st.ino}:${st.size}:${st.mtimeMs}`;
        })
        .join(" ");
      if (this.seen?.signature !== signature)
        this.seen = { signature, etag: structuralEtag(loadConfigFiles(this.files).raw) };
    } catch {
      this.seen = undefined;
      return undefined;
    }
    return this.seen.etag !== running.etag;
  }
}
