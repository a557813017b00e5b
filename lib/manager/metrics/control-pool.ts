/**
 * Kept-open connections to kresd control sockets, so that asking a worker costs one round trip
 * instead of connect + greeting + answer (the metrics endpoint asks every worker on each scrape).
 * A connection serves one question at a time: concurrent questions to one worker open more
 * connections, and only one idle connection per socket is kept. Any failure or timeout destroys
 * the connection, so a late answer can never be taken for the next question.
 */
import * as net from "node:net";

/** The worker's socket refused or lacked the connection: it is gone (or being replaced). */
export class WorkerGone extends Error {
  constructor(message: string) {
    super(message);
    this.name = "WorkerGone";
  }
}

const GONE_CODES = new Set(["ENOENT", "ECONNREFUSED"]);
/** Errors of a kept connection that kresd closed meanwhile; a fresh connection may well work. */
const STALE_CODES = new Set(["EPIPE", "ECONNRESET"]);

class Connection {
  private readonly sock: net.Socket;
  private buf = Buffer.alloc(0);
  private greeted = false;
  private queued: string | undefined;
  private waiting: { resolve: (a: string) => void; reject: (e: Error) => void } | undefined;
  closed = false;

  constructor(readonly path: string) {
    this.sock = net.connect(path);
    this.sock.unref(); // an idle connection must not keep the manager alive
    this.sock.on("data", (d: Buffer) => this.onData(d));
    this.sock.on("error", (e: NodeJS.ErrnoException) => {
      const gone = e.code !== undefined && GONE_CODES.has(e.code);
      this.fail(gone ? new WorkerGone(`${path}: ${e.message}`) : e);
    });
    this.sock.on("close", () => this.fail(new Error(`${path}: connection closed by kresd`)));
  }

  ask(line: string, timeoutMs: number): Promise<string> {
    if (this.closed || this.waiting) return Promise.reject(new Error(`${this.path}: connection not usable`));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail(new Error(`${this.path}: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting = {
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      // Before the greeting the line waits; it then goes with the switch to binary framing.
      if (this.greeted) this.sock.write(`${line}\n`);
      else this.queued = line;
    });
  }

  destroy(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    if (!this.greeted) {
      const prompt = this.buf.indexOf("> ");
      if (prompt < 0) return;
      this.greeted = true;
      this.buf = this.buf.subarray(prompt + 2);
      this.sock.write(`__binary\n${this.queued !== undefined ? `${this.queued}\n` : ""}`);
      this.queued = undefined;
    }
    if (this.buf.length < 4 || this.buf.length < 4 + this.buf.readUInt32BE(0)) return;
    const len = this.buf.readUInt32BE(0);
    const answer = this.buf.subarray(4, 4 + len).toString("utf8");
    this.buf = this.buf.subarray(4 + len);
    const w = this.waiting;
    this.waiting = undefined;
    if (!w) return this.fail(new Error(`${this.path}: answer to no question`));
    w.resolve(answer);
  }

  private fail(e: Error): void {
    this.destroy();
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(e);
  }
}

export class ControlPool {
  private readonly idle = new Map<string, Connection>();

  /**
   * kresd's answer to one line of Lua on the control socket at `path`, within timeoutMs (connecting
   * included). Rejects with WorkerGone when nothing listens there any more.
   */
  async ask(path: string, line: string, timeoutMs: number): Promise<string> {
    const kept = this.take(path);
    if (kept) {
      try {
        return await this.use(kept, line, timeoutMs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (!(code !== undefined && STALE_CODES.has(code)) && !/closed by kresd/.test((e as Error).message))
          throw e;
        // kresd closed the kept connection (e.g. the worker restarted): try once afresh.
      }
    }
    return this.use(new Connection(path), line, timeoutMs);
  }

  /** Closes the connections to every socket but these (workers that went away). */
  retain(paths: ReadonlySet<string>): void {
    for (const [path, c] of this.idle)
      if (!paths.has(path)) {
        c.destroy();
        this.idle.delete(path);
      }
  }

  close(): void {
    this.retain(new Set());
  }

  private take(path: string): Connection | undefined {
    const c = this.idle.get(path);
    this.idle.delete(path);
    return c && !c.closed ? c : undefined;
  }

  private async use(c: Connection, line: string, timeoutMs: number): Promise<string> {
    const answer = await c.ask(line, timeoutMs);
    if (this.idle.has(c.path)) c.destroy();
    else this.idle.set(c.path, c);
    return answer;
  }
}
