/**
 * The management API client of tests and benchmarks: one HTTP request on the API's unix socket (or
 * "host:port"). `apiRequest` sends the body and headers exactly as given (for tests of odd
 * requests); `apiCall` encodes a body that is not a string as JSON.
 */
import * as http from "node:http";

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, undefined when it is empty or not JSON. */
  json: unknown;
}

export interface ApiRequestOptions {
  /** The body, sent as is (chunked unless `headers` give its content-length). */
  payload?: string;
  /** The request headers, as they are (nothing is added). */
  headers?: Record<string, string>;
  /** Default 120 s. */
  timeoutMs?: number;
}

export function apiRequest(
  socket: string,
  method: string,
  urlPath: string,
  opts: ApiRequestOptions = {},
): Promise<ApiResponse> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const tcp = /^(.+):(\d+)$/.exec(socket);
  const target = tcp ? { host: tcp[1], port: Number(tcp[2]) } : { socketPath: socket };
  return new Promise((resolve, reject) => {
    // A connection per request (agent: false): node's default agent keeps connections alive and
    // may reuse one the server is just closing (its keep-alive timeout, or after a 413), which
    // fails the next request with EPIPE or ECONNRESET though the server did nothing wrong.
    const req = http.request(
      { ...target, method, path: urlPath, headers: opts.headers ?? {}, timeout: timeoutMs, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json: unknown;
          try {
            json = text ? JSON.parse(text) : undefined;
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${urlPath}: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    if (opts.payload !== undefined) req.write(opts.payload);
    req.end();
  });
}

export interface ApiRequest {
  /** Sent as is when a string, else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/**
 * One request with a body: a string goes as is, anything else as JSON with its content-type (unless
 * `headers` name one).
 */
export function apiCall(
  socket: string,
  method: string,
  urlPath: string,
  req: ApiRequest = {},
): Promise<ApiResponse> {
  const payload =
    req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { ...req.headers };
  if (payload !== undefined && typeof req.body !== "string" && !("content-type" in headers))
    headers["content-type"] = "application/json";
  return apiRequest(socket, method, urlPath, { payload, headers, timeoutMs: req.timeoutMs });
}
