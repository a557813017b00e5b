/**
 * One HTTP request to the management API, on its unix socket (or "host:port"). The benchmarks'
 * BenchResolver and the test harness's apiCall (test/helpers/api.ts) both go through it.
 */
import * as http from "node:http";

export interface ApiAnswer {
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
): Promise<ApiAnswer> {
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const tcp = /^(.+):(\d+)$/.exec(socket);
  const target = tcp ? { host: tcp[1], port: Number(tcp[2]) } : { socketPath: socket };
  return new Promise((resolve, reject) => {
    const req = http.request(
      { ...target, method, path: urlPath, headers: opts.headers ?? {}, timeout: timeoutMs },
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
