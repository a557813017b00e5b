/**
 * Where the API listens on a unix socket: a dead manager's socket is replaced, a live one is refused,
 * and anything that is not a socket is never removed.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import express from "express";
import type { ManagementConfig } from "../../../lib/datamodel/sections/management/schema.js";
import { ApiServer, HTTP_LIMITS } from "../../../lib/manager/server.js";
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

describe("ApiServer limits", () => {
  const limits = {
    ...HTTP_LIMITS,
    headersTimeoutMs: 300,
    requestTimeoutMs: 600,
    checkIntervalMs: 50,
    maxConnections: 2,
  };
  const app = express().get("/", (_req, res) => {
    res.send("ok");
  });

  /** A raw connection that records what the server sends and when it closes. */
  function connect(file: string) {
    const c = net.connect(file);
    const seen = { data: "", closed: false };
    c.on("data", (d: Buffer) => (seen.data += d.toString()));
    c.on("close", () => (seen.closed = true));
    c.on("error", () => {});
    return { c, seen, ready: new Promise<void>((resolve) => c.once("connect", () => resolve())) };
  }
  const within = async (ms: number, done: () => boolean) => {
    for (const end = Date.now() + ms; Date.now() < end && !done();)
      await new Promise((r) => setTimeout(r, 20));
    return done();
  };

  it("drops a client that never finishes its request head", async () => {
    const file = path.join(dir, "slow.sock");
    const server = new ApiServer(app, limits);
    await server.listen(at(file));
    try {
      const slow = connect(file);
      await slow.ready;
      slow.c.write("GET / HTTP/1.1\r\nHost: x\r\n"); // and never the blank line
      expect(await within(3000, () => slow.seen.closed)).toBe(true);
      expect(slow.seen.data).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      server.close();
    }
  });

  it("closes connections beyond its cap at once and serves the others", async () => {
    const file = path.join(dir, "cap.sock");
    const server = new ApiServer(app, { ...limits, headersTimeoutMs: 60_000, requestTimeoutMs: 60_000 });
    await server.listen(at(file));
    try {
      const held = [connect(file), connect(file)];
      await Promise.all(held.map((h) => h.ready));
      await new Promise((r) => setTimeout(r, 100));
      const third = connect(file);
      expect(await within(3000, () => third.seen.closed)).toBe(true);
      expect(held.map((h) => h.seen.closed)).toEqual([false, false]);
      held[0]?.c.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
      expect(await within(3000, () => held[0]?.seen.data.includes("ok") ?? false)).toBe(true);
      for (const h of held) h.c.destroy();
    } finally {
      server.close();
    }
  });
});
