/**
 * kresd 5.6's control socket (RUNDIR/control/<pid>), for the manager and the tests: connect, wait for the
 * text-mode `> ` greeting, switch to binary mode with `__binary`, send Lua one line each, and read one
 * answer per line, each framed by a 4-byte big-endian length. Plus the decoder of kresd's answers
 * for Lua strings (krprint: single quotes, every byte outside printable ASCII, `'` and `\` as \ddd).
 */
import * as net from "node:net";

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
 * at once after the greeting (unless `pipelined: false`), and returns kresd's answers as text in the same order (a value as
 * kresd prints it, e.g. "2", "'text'" or a table dump; a Lua error comes back as its message).
 */
export function controlCall(
  socketPath: string,
  lines: readonly string[],
  opts: ControlOptions = {},
): Promise<string[]> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const pipelined = opts.pipelined ?? true;
  if (lines.some((l) => l.includes("\n"))) {
    return Promise.reject(new Error("controlCall(): one line of Lua per entry only"));
  }
  if (lines.length === 0) return Promise.resolve([]);
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    const answers: string[] = [];
    let buf = Buffer.alloc(0);
    let greeted = false;
    const fail = (e: Error): void => {
      clearTimeout(timer);
      sock.destroy();
      reject(e);
    };
    const timer = setTimeout(() => {
      const first = JSON.stringify(lines[0]);
      fail(
        new Error(
          `control socket ${socketPath}: ${answers.length} of ${lines.length} answers in ${timeoutMs} ms` +
            ` (first line: ${first})`,
        ),
      );
    }, timeoutMs);
    sock.on("error", fail);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (!greeted) {
        // Text-mode prompt first; then answers framed by a 4-byte big-endian length.
        const prompt = buf.indexOf("> ");
        if (prompt < 0) return;
        greeted = true;
        buf = buf.subarray(prompt + 2);
        sock.write(`__binary\n${(pipelined ? lines : lines.slice(0, 1)).join("\n")}\n`);
      }
      while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
        const len = buf.readUInt32BE(0);
        answers.push(buf.subarray(4, 4 + len).toString("utf8"));
        buf = buf.subarray(4 + len);
        if (!pipelined && answers.length < lines.length) sock.write(`${lines[answers.length]}\n`);
      }
      if (answers.length >= lines.length) {
        clearTimeout(timer);
        sock.end();
        resolve(answers.slice(0, lines.length));
      }
    });
  });
}

/**
 * The bytes of kresd's answer for a Lua string: `'...'` with every byte outside printable ASCII,
 * and `'` and `\`, written as `\ddd` (decimal). Throws when the answer is not such a string.
 */
export function luaStringAnswer(answer: string | undefined): Buffer {
  const m = /^'(.*)'$/s.exec(answer ?? "");
  if (!m) throw new Error(`not a Lua string answer: ${answer}`);
  const body = m[1] as string;
  const bytes: number[] = [];
  for (let i = 0; i < body.length; i++) {
    const esc = /^\\(\d{3})/.exec(body.slice(i));
    if (esc) {
      bytes.push(Number(esc[1]));
      i += 3;
    } else bytes.push(body.charCodeAt(i));
  }
  return Buffer.from(bytes);
}

/** luaStringAnswer() read as UTF-8. */
export function luaStringAnswerText(answer: string | undefined): string {
  return luaStringAnswer(answer).toString("utf8");
}
