import * as http from "node:http";
import { printable } from "../utils/printable.js";
import { isPlainObject } from "../utils/parsing.js";
import { readTokenFile, TokenFileError } from "../datamodel/sections/management/token.js";
import { CliError } from "./common.js";
import type { GlobalArgs } from "./common.js";
import { describeTarget, resolveEndpoint, type ApiEndpoint } from "./socket.js";

/** How long kresctl waits for an answer: config changes wait for the workers (as upstream: 5 min). */
export const DEFAULT_TIMEOUT_MS = 300_000;

export interface ApiRequest {
  /** Sent as JSON unless it is a string (then as is, with `contentType`). */
  body?: unknown;
  contentType?: string;
}

export interface ApiAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/** The manager answered with an error: its message and detail lines, as kresctl prints them. */
export class ApiError extends CliError {
  constructor(
    /** The manager's answer's status. */
    override readonly status: number,
    readonly error: string,
    readonly details: readonly string[],
  ) {
    super([error, ...details.map((d) => `  ${d}`)].join("\n"));
  }
}

/** No manager answers where kresctl looked. */
export class ManagerUnreachable extends CliError {
  constructor(endpoint: ApiEndpoint, reason: string) {
    super(
      `cannot reach the management API at ${describeTarget(endpoint.target)} (${endpoint.source}): ${reason}; is the resolver running?`,
    );
  }
}

const REASONS: Record<string, string> = {
  ENOENT: "no such socket",
  ECONNREFUSED: "connection refused",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTSOCK: "not a socket",
  ECONNRESET: "connection reset",
  EHOSTUNREACH: "host unreachable",
  ENETUNREACH: "network unreachable",
  ENOTFOUND: "unknown host",
  EAI_AGAIN: "unknown host",
};

function reasonOf(e: NodeJS.ErrnoException): string {
  const code = e.code ?? "";
  return REASONS[code] ? `${REASONS[code]} (${code})` : code || e.message;
}

/** The error message of an error answer: the server's `error` and `details`, else the status line. */
function errorOf(answer: ApiAnswer): ApiError {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    body = undefined;
  }
  // printable(): whatever the answer says reaches a terminal one line each, nothing unprintable.
  if (isPlainObject(body) && typeof body.error === "string") {
    const details = Array.isArray(body.details) ? body.details.map((d) => printable(String(d))) : [];
    return new ApiError(answer.status, printable(body.error), details);
  }
  const firstLine = printable(answer.text.trim().split("\n")[0]?.slice(0, 200) ?? "");
  const statusText = http.STATUS_CODES[answer.status] ?? "";
  return new ApiError(
    answer.status,
    `HTTP ${answer.status} ${statusText}${firstLine ? `: ${firstLine}` : ""}`,
    [],
  );
}

/** HTTP to the management API over a unix socket or TCP. Only talks; knows no command. */
export class ApiClient {
  constructor(
    readonly endpoint: ApiEndpoint,
    readonly timeoutMs = DEFAULT_TIMEOUT_MS,
    /** The bearer token sent with every request (the TCP interface's management/token-file). */
    private readonly token?: string,
  ) {}

  /**
   * One request; resolves with any answer the manager gives (error statuses included). Rejects
   * with ManagerUnreachable when nothing answers, or a CliError when the answer does not come in time.
   */
  send(method: string, urlPath: string, req: ApiRequest = {}): Promise<ApiAnswer> {
    const t = this.endpoint.target;
    const body =
      req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
    const headers: Record<string, string> = {};
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) {
      headers["content-type"] =
        req.contentType ?? (typeof req.body === "string" ? "text/plain" : "application/json");
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    const where = t.kind === "unix" ? { socketPath: t.path } : { host: t.host, port: t.port };
    return new Promise((resolve, reject) => {
      let connected = false;
      // agent: false: one connection per request, closed after it (a kept-alive one would hold
      // kresctl's process open).
      const r = http.request({ ...where, agent: false, method, path: urlPath, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
        res.on("error", (e) =>
          reject(new CliError(`connection to ${describeTarget(t)} lost: ${reasonOf(e)}`)),
        );
      });
      r.on("socket", (s) => s.once("connect", () => (connected = true)));
      r.setTimeout(this.timeoutMs, () => {
        const seconds = Math.round(this.timeoutMs / 100) / 10;
        r.destroy(
          connected
            ? new CliError(
                `no answer to ${method} ${urlPath} from ${describeTarget(t)} within ${seconds} s; the operation may still complete, see the resolver's log`,
              )
            : new ManagerUnreachable(this.endpoint, `no connection within ${seconds} s`),
        );
      });
      r.on("error", (e: NodeJS.ErrnoException) => {
        if (e instanceof CliError) reject(e);
        else if (connected) reject(new CliError(`connection to ${describeTarget(t)} lost: ${reasonOf(e)}`));
        else reject(new ManagerUnreachable(this.endpoint, reasonOf(e)));
      });
      r.end(body);
    });
  }

  /** A request that must succeed (2xx): an error answer rejects with ApiError. */
  async call(method: string, urlPath: string, req: ApiRequest = {}): Promise<ApiAnswer> {
    const answer = await this.send(method, urlPath, req);
    if (answer.status < 200 || answer.status > 299) throw errorOf(answer);
    return answer;
  }

  /** A request that must succeed with a JSON answer, parsed. */
  async json(method: string, urlPath: string, req: ApiRequest = {}): Promise<unknown> {
    const answer = await this.call(method, urlPath, req);
    try {
      return JSON.parse(answer.text) as unknown;
    } catch {
      throw new CliError(`${method} ${urlPath}: the manager answered with something that is not JSON`);
    }
  }
}

/** The client for the API the global options (-s, -c) name, with its token on TCP. */
export function clientFor(args: GlobalArgs, env: NodeJS.ProcessEnv): ApiClient {
  const endpoint = resolveEndpoint(args, env);
  return new ApiClient(endpoint, DEFAULT_TIMEOUT_MS, tokenOf(endpoint));
}

/** The token to send: only over TCP (the unix socket takes none); unusable file → CliError. */
export function tokenOf(endpoint: ApiEndpoint): string | undefined {
  if (endpoint.target.kind !== "tcp" || endpoint.token === undefined) return undefined;
  try {
    return readTokenFile(endpoint.token.file);
  } catch (e) {
    if (e instanceof TokenFileError) throw new CliError(`${e.message} (named by ${endpoint.token.source})`);
    throw e;
  }
}
