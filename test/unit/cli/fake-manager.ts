import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../../lib/cli/main.js";
import type { CliIo } from "../../../lib/cli/common.js";

/** A request the fake manager got. */
export interface Seen {
  method: string;
  url: string;
  contentType?: string;
  body: string;
}

/** What the fake manager answers: a status and JSON (any value) or text. */
export interface Reply {
  status?: number;
  json?: unknown;
  text?: string;
  contentType?: string;
}

export type Routes = Record<string, Reply | ((seen: Seen) => Reply)>;

/**
 * A throwaway management API on a unix socket in a fresh directory: answers "METHOD /path" from
 * `routes` (404 with a JSON error otherwise) and remembers every request.
 */
export class FakeManager {
  private constructor(
    readonly dir: string,
    readonly socket: string,
    private readonly server: http.Server,
    readonly seen: Seen[],
  ) {}

  static async start(routes: Routes): Promise<FakeManager> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-kresctl-"));
    const socket = path.join(dir, "api.sock");
    const seen: Seen[] = [];
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const request: Seen = {
          method: req.method ?? "",
          url: req.url ?? "",
          contentType: req.headers["content-type"],
          body: Buffer.concat(chunks).toString("utf8"),
        };
        seen.push(request);
        const route = routes[`${request.method} ${request.url}`];
        const reply: Reply = route
          ? typeof route === "function"
            ? route(request)
            : route
          : { status: 404, json: { error: `no such endpoint: ${request.method} ${request.url}` } };
        const text = reply.text ?? (reply.json === undefined ? "" : JSON.stringify(reply.json));
        res.writeHead(reply.status ?? 200, {
          "content-type": reply.contentType ?? (reply.text !== undefined ? "text/plain" : "application/json"),
        });
        res.end(text);
      });
    });
    await new Promise<void>((resolve) => server.listen(socket, resolve));
    return new FakeManager(dir, socket, server, seen);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface KresctlResult {
  code: number;
  out: string;
  err: string;
}

/** Runs kresctl in-process with buffered output and its own environment (no default config file). */
export async function kresctl(
  args: string[],
  opts: {
    stdin?: string;
    env?: NodeJS.ProcessEnv;
    confirm?: (question: string) => Promise<boolean>;
    /** As on a terminal that takes colours. */
    colour?: boolean;
  } = {},
): Promise<KresctlResult> {
  let out = "";
  let err = "";
  const io: CliIo = {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    readStdin: () => opts.stdin ?? "",
    // As on a terminal; without it, as in a script.
    ...(opts.confirm ? { confirm: opts.confirm } : {}),
    ...(opts.colour ? { colour: true } : {}),
  };
  const env = opts.env ?? { PATH: process.env.PATH, KRES_MANAGER_CONFIG: "/nonexistent/config.yaml" };
  const code = await main(args, io, env);
  return { code, out, err };
}
