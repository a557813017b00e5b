/**
 * A fake kresd control socket (RUNDIR/control/<pid>) for tests that need no real worker: greets with
 * "> ", ignores the `__binary` switch and answers each later line length-framed, as kresd 5.6 does.
 * Records the lines it was sent and how many connections it accepted.
 */
import * as net from "node:net";

export interface FakeControlOptions {
  /** kresd's answer text to one line of Lua. */
  answer: (line: string) => string;
  /** Accept connections but never greet: what a SIGSTOPped kresd does. */
  hang?: boolean;
  /** How long to wait before answering a line (default 0); answers still go out in order. */
  delayMs?: (line: string) => number;
}

export class FakeControlSocket {
  readonly lines: string[] = [];
  connections = 0;
  private readonly server: net.Server;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    readonly path: string,
    options: FakeControlOptions,
  ) {
    this.server = net.createServer((sock) => {
      this.connections++;
      this.sockets.add(sock);
      sock.on("close", () => this.sockets.delete(sock));
      if (options.hang) return;
      sock.write("> ");
      let buf = "";
      let sending = Promise.resolve();
      const send = (data: Buffer, delayMs: number): void => {
        sending = sending
          .then(() => (delayMs > 0 ? new Promise((r) => setTimeout(r, delayMs)) : undefined))
          .then(() => {
            if (!sock.destroyed) sock.write(data);
          });
      };
      sock.on("data", (d) => {
        buf += d.toString();
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line === "__binary") continue;
          this.lines.push(line);
          const text = Buffer.from(options.answer(line));
          const len = Buffer.alloc(4);
          len.writeUInt32BE(text.length);
          send(Buffer.concat([len, text]), options.delayMs?.(line) ?? 0);
        }
      });
    });
  }

  listen(): Promise<void> {
    return new Promise((resolve) => this.server.listen(this.path, resolve));
  }

  /** Drops the open connections, as kresd does when it restarts. */
  hangUp(): void {
    for (const s of this.sockets) s.destroy();
  }

  /** Drops the connections and stops listening, as an exiting kresd does. */
  close(): Promise<void> {
    this.hangUp();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}
