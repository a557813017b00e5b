import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

/**
 * Writes a file so readers see either the old or the new content, never a torn one. The temporary
 * file has an unpredictable name and is created exclusively without following a symlink, so nobody
 * who can write to the directory can plant a file or link there for us to write through. The mode
 * defaults to 0600: what the manager writes (worker Lua, supervisord's config) can hold secrets
 * such as a TLS session-ticket secret.
 */
export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${crypto.randomBytes(8).toString("hex")}.tmp`,
  );
  const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;
  let fd: number | undefined;
  try {
    fd = fs.openSync(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
    fs.writeFileSync(fd, data);
    fs.fchmodSync(fd, mode); // exactly this mode, whatever the umask
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file); // replaces a symlink at `file` itself, never its target
  } catch (e) {
    if (fd !== undefined) fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
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
