import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { controlCall, luaStringAnswer, luaStringAnswerText } from "../../../harness/control.js";

describe("luaStringAnswer (kresd's printed Lua strings)", () => {
  it("reads printable ASCII as is", () => {
    expect(luaStringAnswer("'debug'")).toEqual(Buffer.from("debug"));
    expect(luaStringAnswer("''")).toEqual(Buffer.alloc(0));
  });

  it("decodes \\ddd escapes, from \\000 to \\255", () => {
    expect(luaStringAnswer("'a\\000b'")).toEqual(Buffer.from([0x61, 0x00, 0x62]));
    expect(luaStringAnswer("'\\255\\254'")).toEqual(Buffer.from([0xff, 0xfe]));
    expect(luaStringAnswer("'\\010'")).toEqual(Buffer.from("\n"));
  });

  it("decodes escaped quotes and backslashes", () => {
    expect(luaStringAnswer("'it\\039s'").toString("latin1")).toBe("it's");
    expect(luaStringAnswer("'a\\092b'").toString("latin1")).toBe("a\\b");
    expect(luaStringAnswer("'\"quoted\"'").toString("latin1")).toBe('"quoted"');
  });

  it("keeps digits after a complete escape as text", () => {
    expect(luaStringAnswer("'\\0491'").toString("latin1")).toBe("11");
  });

  it("spans line breaks inside the quotes", () => {
    expect(luaStringAnswer("'a\nb'").toString("latin1")).toBe("a\nb");
  });

  it("refuses answers that are not one quoted string", () => {
    expect(() => luaStringAnswer("2")).toThrow("not a Lua string answer: 2");
    expect(() => luaStringAnswer("'open")).toThrow(/not a Lua string answer/);
    expect(() => luaStringAnswer(undefined)).toThrow(/not a Lua string answer/);
  });

  it("luaStringAnswerText reads the bytes as UTF-8", () => {
    expect(luaStringAnswerText("'caf\\195\\169'")).toBe("café");
    expect(luaStringAnswerText("'io,plan'")).toBe("io,plan");
  });
});

/**
 * A stand-in for kresd's control socket: greets with "> ", expects `__binary`, then answers each
 * line with `=<line>` framed by a 4-byte big-endian length, one chunk per line it has seen in the
 * data it received so far (chunks: how many lines each read carried).
 */
async function fakeKresd(): Promise<{ socketPath: string; chunks: number[]; close: () => Promise<void> }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-control-"));
  const socketPath = path.join(dir, "control");
  const chunks: number[] = [];
  const server = net.createServer((c) => {
    let text = "";
    let binary = false;
    c.write("> ");
    c.on("data", (d: Buffer) => {
      text += d.toString("utf8");
      const lines = text.split("\n");
      text = lines.pop() as string;
      if (!binary && lines[0] === "__binary") {
        binary = true;
        lines.shift();
      }
      if (lines.length > 0) chunks.push(lines.length);
      for (const line of lines) {
        const answer = Buffer.from(`=${line}`, "utf8");
        const len = Buffer.alloc(4);
        len.writeUInt32BE(answer.length);
        c.write(Buffer.concat([len, answer]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    socketPath,
    chunks,
    close: () =>
      new Promise<void>((resolve) =>
        server.close(() => {
          fs.rmSync(dir, { recursive: true, force: true });
          resolve();
        }),
      ),
  };
}

describe("controlCall", () => {
  it("sends every line after the greeting and returns one answer per line, in order", async () => {
    const fake = await fakeKresd();
    try {
      expect(await controlCall(fake.socketPath, ["1", "é", "3"])).toEqual(["=1", "=é", "=3"]);
    } finally {
      await fake.close();
    }
  });

  it("with pipelined: false, sends each line once the previous one was answered", async () => {
    const fake = await fakeKresd();
    try {
      const answers = await controlCall(fake.socketPath, ["a", "b", "c"], { pipelined: false });
      expect(answers).toEqual(["=a", "=b", "=c"]);
      expect(fake.chunks).toEqual([1, 1, 1]);
    } finally {
      await fake.close();
    }
  });

  it("refuses a line that spans several lines", async () => {
    await expect(controlCall("/nonexistent", ["1", "a\nb"])).rejects.toThrow(/one line of Lua/);
  });

  it("answers an empty list without connecting", async () => {
    await expect(controlCall("/nonexistent", [])).resolves.toEqual([]);
  });
});
