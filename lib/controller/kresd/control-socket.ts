/**
 * kresd 5.6's control socket (RUNDIR/control/<pid>), for the controller and the tests: connect, wait
 * for the text-mode `> ` greeting, switch to binary mode with `__binary`, send Lua one line each, and
 * read one answer per line, each framed by a 4-byte big-endian length. Decoding the answers is
 * lib/utils/krprint.ts.
 */
import * as net from "node:net";
import * as path from "node:path";
import { CommandTimeout, WorkerGone } from "../interface.js";

/** kresd -n RUNDIR opens its control socket at RUNDIR/control/<pid>. */
export const controlSocketPath = (rundir: string, pid: number): string =>
  path.join(rundir, "control", String(pid));

const GONE_CODES = new Set(["ENOENT", "ECONNREFUSED"]);

interface Waiter {
  resolve: (answer: string) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * One connection to a kresd control socket. Lines asked before the greeting go out with the switch
 * to binary framing; lines asked while earlier ones wait are pipelined; answers come back in order.
 * Any error, timeout or stray answer closes the connection and fails every question still waiting,
 * so a late answer can never be taken for another question.
 */
export class ControlConnection {
  private readonly sock: net.Socket;
  private buf: Buffer = Buffer.alloc(0);
  private greeted = false;
  private unsent: string[] = [];
  private readonly waiting: Waiter[] = [];
  closed = false;
  /** Called once when the connection ends, whatever ended it (a pool forgets it then). */
  onClosed: (() => void) | undefined;

  constructor(readonly path: string) {
    this.sock = net.connect(path);
    this.sock.on("data", (d: Buffer) => this.onData(d));
    this.sock.on("error", (e: NodeJS.ErrnoException) => {
      const gone = e.code !== undefined && GONE_CODES.has(e.code);
      this.fail(gone ? new WorkerGone(`${path}: ${e.message}`) : e);
    });
    this.sock.on("close", () => this.fail(new Error(`${path}: connection closed by kresd`)));
  }

  /** No question is waiting. */
  get idle(): boolean {
    return !this.closed && this.waiting.length === 0;
  }

  /** An idle kept connection must not keep the process alive. */
  unref(): void {
    this.sock.unref();
  }

  /** kresd's answer to one line of Lua, within timeoutMs of asking. */
  ask(line: string, timeoutMs: number): Promise<string> {
    if (line.includes("\n"))
      return Promise.reject(new Error(`${this.path}: one line of Lua per question only`));
    if (this.closed) return Promise.reject(new Error(`${this.path}: connection not usable`));
    return new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => this.fail(new CommandTimeout(`${this.path}: no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push({ resolve, reject, timer });
      if (this.greeted) this.sock.write(`${line}\n`);
      else this.unsent.push(line);
    });
  }

  destroy(): void {
    this.closed = true;
    this.sock.destroy();
  }

  private onData(d: Buffer): void {
    // Usually a whole answer arrives in one chunk with nothing left over: no copying then.
    this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
    if (!this.greeted) {
      // Text-mode prompt first; then answers framed by a 4-byte big-endian length.
      const prompt = this.buf.indexOf("> ");
      if (prompt < 0) return;
      this.greeted = true;
      this.buf = this.buf.subarray(prompt + 2);
      this.sock.write(["__binary", ...this.unsent].map((l) => `${l}\n`).join(""));
      this.unsent = [];
    }
    while (this.buf.length >= 4 && this.buf.length >= 4 + this.buf.readUInt32BE(0)) {
      const len = this.buf.readUInt32BE(0);
      const answer = this.buf.subarray(4, 4 + len).toString("utf8");
      this.buf = this.buf.subarray(4 + len);
      const w = this.waiting.shift();
      if (!w) return this.fail(new Error(`${this.path}: answer to no question`));
      clearTimeout(w.timer);
      w.resolve(answer);
    }
  }

  private fail(e: Error): void {
    this.destroy();
    const onClosed = this.onClosed;
    this.onClosed = undefined;
    onClosed?.();
    for (const w of this.waiting.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
  }
}

export interface ControlOptions {
  /** How long the whole exchange may take (default 5 s). */
  timeoutMs?: number;
  /**
   * Send every line at once after the greeting (default true). Pass false to send each line only
   * once the previous one was answered: kresd 5.6 drops pipelined input after a line that loads a
   * module (e.g. `modules.load(...)`, or a function that loads one), so such a batch never gets
   * all its answers.
   */
  pipelined?: boolean;
}

/**
 * Evaluates `lines` (one line of Lua each) over one connection to kresd's control socket, all sent
 * at once after the greeting (unless `pipelined: false`), and returns kresd's answers as text in the
 * same order (a value as kresd prints it, e.g. "2", "'text'" or a table dump; a Lua error comes back
 * as its message).
 */
export async function controlCall(
  socketPath: string,
  lines: readonly string[],
  opts: ControlOptions = {},
): Promise<string[]> {
  if (lines.some((l) => l.includes("\n"))) throw new Error("controlCall(): one line of Lua per entry only");
  if (lines.length === 0) return [];
  const timeoutMs = opts.timeoutMs ?? 5000;
  const c = new ControlConnection(socketPath);
  const answers: string[] = [];
  const deadline = Date.now() + timeoutMs;
  try {
    if (opts.pipelined ?? true) {
      answers.push(...(await Promise.all(lines.map((l) => c.ask(l, timeoutMs)))));
    } else {
      for (const l of lines) answers.push(await c.ask(l, Math.max(1, deadline - Date.now())));
    }
    return answers;
  } catch (e) {
    const first = JSON.stringify(lines[0]);
    throw new Error(
      `control socket ${socketPath}: ${answers.length} of ${lines.length} answers in ${timeoutMs} ms (first line: ${first}): ${(e as Error).message}`,
      { cause: e },
    );
  } finally {
    c.destroy();
  }
}
