import { apiRequest, type ApiAnswer } from "./bench-api.js";

/** An answer of the management API (bench/support/api.ts does the request). */
export type ApiResponse = ApiAnswer;

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
  const payload =
    req.body === undefined ? undefined : typeof req.body === "string" ? req.body : JSON.stringify(req.body);
  const headers: Record<string, string> = { ...req.headers };
  if (payload !== undefined && typeof req.body !== "string" && !("content-type" in headers))
    headers["content-type"] = "application/json";
  return apiRequest(socket, method, urlPath, { payload, headers, timeoutMs: req.timeoutMs });
}
