import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/** How writeFileAtomic puts the file in place. */
export interface AtomicWriteOptions {
  /** fsync the content before it is renamed into place, and the directory after: it survives a power cut. */
  durable?: boolean;
  /**
   * Never replace an existing file: the content is linked into place, which fails with EEXIST when
   * `file` exists (a name taken by another writer meanwhile), leaving that file as it was.
   */
  exclusive?: boolean;
}

/**
 * Writes a file so readers see either the old or the new content, never a torn one. The temporary
 * file has an unpredictable name and is created exclusively without following a symlink, so nobody
 * who can write to the directory can plant a file or link there for us to write through. The mode
 * defaults to 0600: what the manager writes (worker Lua, supervisord's config) can hold secrets
 * such as a TLS session-ticket secret.
 */
export function writeFileAtomic(
  file: string,
  data: string,
  mode = 0o600,
  options: AtomicWriteOptions = {},
): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(8).toString("hex")}.tmp`);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode); // exactly this mode, whatever the umask
    if (options.durable) fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    if (options.exclusive) {
      fs.linkSync(tmp, file); // EEXIST rather than replacing what another writer put there
      fs.rmSync(tmp, { force: true });
    } else fs.renameSync(tmp, file); // replaces a symlink at `file` itself, never its target
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  if (options.durable) fsyncDir(dir);
}

/** Flushes a directory's entries (a rename or a new file in it) to disk. */
function fsyncDir(dir: string): void {
  const dfd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(dfd);
  } finally {
    fs.closeSync(dfd);
  }
}

/** The file's content, or undefined when it does not exist. */
export function readFileIfExists(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw e;
  }
}

/** A file's new content, written beside it and flushed to disk, waiting to replace it. */
export interface StagedFile {
  readonly file: string;
  /** Puts the new content in place (rename) and flushes the directory: durable once this returns. */
  commit(): void;
  /** Removes the staged content; the file stays as it was. */
  discard(): void;
}

/**
 * Stages a new content for an existing file, durably: a temporary file in the same directory (so
 * the rename that follows is atomic) with the original's owner and mode, written and fsynced. All
 * that can fail for lack of space, permission or a read-only file system fails here, before anything
 * else moved; commit() then only renames and flushes the directory.
 */
export function stageFileDurable(file: string, data: string): StagedFile {
  const st = fs.statSync(file);
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${crypto.randomBytes(8).toString("hex")}.tmp`);
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    fs.writeFileSync(fd, data);
    // Owner first: a chown may clear the set-id bits that the mode then puts back.
    if (st.uid !== process.getuid?.() || st.gid !== process.getgid?.()) fs.fchownSync(fd, st.uid, st.gid);
    fs.fchmodSync(fd, st.mode & 0o7777);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  return {
    file,
    commit() {
      try {
        fs.renameSync(tmp, file);
      } catch (e) {
        fs.rmSync(tmp, { force: true });
        throw e;
      }
      fsyncDir(dir);
    },
    discard() {
      fs.rmSync(tmp, { force: true });
    },
  };
}
