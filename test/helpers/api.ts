import * as http from "node:http";

export interface ApiResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, undefined when it is empty or not JSON. */
  json: unknown;
}

export interface ApiRequest {
  /** Sent as is when a string, else as JSON. */
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** One HTTP request to the management API on a unix socket (or "host:port"). */
export function apiCall(
  socket: string,
  method: string,
  urlPath: string,
  req: ApiRequest = {},
): Promise<ApiResponse> {
  const body =
    req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { ...req.headers };
  if (body !== undefined && typeof req.body !== "string" && !("content-type" in headers))
    headers["content-type"] = "application/json";
  const tcp = /^(.+):(\d+)$/.exec(socket);
  const target = tcp ? { host: tcp[1], port: Number(tcp[2]) } : { socketPath: socket };
  return new Promise((resolve, reject) => {
    const r = http.request(
      { ...target, method, path: urlPath, headers, timeout: req.timeoutMs ?? 120_000 },
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
      },
    );
    r.on("timeout", () => r.destroy(new Error(`${method} ${urlPath}: no answer in time`)));
    r.on("error", reject);
    if (body !== undefined) r.write(body);
    r.end();
  });
}
