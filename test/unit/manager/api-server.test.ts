/**
 * Where the API listens on a unix socket: a dead manager's socket is replaced, a live one is refused,
 * and anything that is not a socket is never removed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import express from "express";
import type { ManagementConfig } from "../../../lib/datamodel/sections/management/schema.js";
import { ApiServer } from "../../../lib/manager/server.js";
import { tmpDir } from "../../../harness/tmp.js";

const dir = tmpDir("krm-api-server-");
const at = (file: string) => ({ "unix-socket": file }) as ManagementConfig;

/** A socket file nobody listens on any more, as a killed manager leaves it. */
async function deadSocket(file: string): Promise<void> {
  const s = net.createServer();
  await new Promise<void>((resolve) => s.listen(file, resolve));
  // Closing a unix server removes its file; keep a hard link to the socket inode to leave one behind.
  fs.linkSync(file, `${file}.keep`);
  await new Promise<void>((resolve) => s.close(() => resolve()));
  fs.renameSync(`${file}.keep`, file);
}

describe("ApiServer on a unix socket", () => {
  it("replaces a socket file left by a dead manager, with mode 0660, and removes it on close", async () => {
    const file = path.join(dir, "dead.sock");
    await deadSocket(file);
    const server = new ApiServer(express());
    expect(await server.listen(at(file))).toBe(`unix socket ${file}`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o660);
    server.close();
    expect(fs.existsSync(file)).toBe(false);
  });

  it("refuses a socket another process answers on", async () => {
    const file = path.join(dir, "live.sock");
    const other = net.createServer();
    await new Promise<void>((resolve) => other.listen(file, resolve));
    try {
      await expect(new ApiServer(express()).listen(at(file))).rejects.toThrow(/in use by another process/);
    } finally {
      other.close();
    }
  });

  it.each([
    ["a regular file", (f: string) => fs.writeFileSync(f, "the cache")],
    ["a directory", (f: string) => fs.mkdirSync(f)],
    [
      "a symbolic link",
      (f: string) => {
        fs.writeFileSync(`${f}.target`, "the cache");
        fs.symlinkSync(`${f}.target`, f);
      },
    ],
  ])("leaves %s at the path untouched and says what is there", async (kind, make) => {
    const file = path.join(dir, `not-a-socket-${kind.replace(/ /g, "-")}`);
    make(file);
    const before = fs.lstatSync(file);
    await expect(new ApiServer(express()).listen(at(file))).rejects.toThrow(
      `${file} exists and is ${kind}, not a socket; refusing to replace it`,
    );
    const after = fs.lstatSync(file);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });
});
