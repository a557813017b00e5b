/**
 * `kresctl ui`'s proxy: an HTTP server on a loopback port that forwards to the management API (its
 * unix socket, usually), so a browser can open the dashboard the manager serves at /ui/. The unix
 * socket is guarded by its file permissions; a loopback port is open to every local user and to
 * every web page the browser visits, so the proxy asks for what the API asks on TCP: a Host and an
 * Origin naming the proxy itself (no DNS rebinding, no cross-origin page) and a bearer token, made
 * up fresh at each start and handed over in the printed URL's fragment. Only the dashboard's own
 * files (GET /ui/…, the same for everybody) load without it.
 */
import * as crypto from "node:crypto";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import type { ApiTarget } from "./socket.js";

export interface UiProxyOptions {
  /** The management API to forward to. */
  target: ApiTarget;
  /** The API's own bearer token (a TCP interface with management/token-file). */
  apiToken?: string;
  /** Loopback port to listen on; 0 picks a free one. */
  port: number;
}

export interface UiProxy {
  /** The dashboard's address with the token in its fragment. */
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

// Hop-by-hop headers and what the proxy answers for itself are not forwarded.
const DROPPED = new Set([
  "host",
  "origin",
  "referer",
  "authorization",
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "cookie",
]);

function isDashboardFile(method: string, path: string): boolean {
  return (
    (method === "GET" || method === "HEAD") &&
    (path === "/ui" || path.startsWith("/ui/") || path === "/schema/ui")
  );
}

function refuse(res: http.ServerResponse, status: number, error: string): void {
  res.writeHead(status, { "Content-Type": "application/json" });
  res.end(JSON.stringify({ error }));
}

export async function startUiProxy(opts: UiProxyOptions): Promise<UiProxy> {
  const token = crypto.randomBytes(24).toString("base64url");
  const expected = crypto.createHash("sha256").update(token).digest();
  let port = opts.port;
  const own = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`]);

  const server = http.createServer((req, res) => {
    const method = (req.method ?? "GET").toUpperCase();
    const path = (req.url ?? "/").split("?")[0] as string;
    const names = own();
    if (!names.has((req.headers.host ?? "").toLowerCase()))
      return refuse(
        res,
        403,
        `Host '${req.headers.host ?? ""}' is not this proxy (http://127.0.0.1:${port})`,
      );
    const origin = req.headers.origin;
    if (origin !== undefined && !names.has(origin.toLowerCase().replace(/^http:\/\//, "")))
      return refuse(res, 403, `cross-origin request refused: Origin '${origin}'`);
    if (!isDashboardFile(method, path)) {
      const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? "");
      const given = crypto
        .createHash("sha256")
        .update(m?.[1] ?? "")
        .digest();
      if (!m || !crypto.timingSafeEqual(given, expected))
        return refuse(res, 401, "this proxy needs the token of the URL kresctl ui printed");
    }
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROPPED.has(k) && v !== undefined) headers[k] = v;
    const t = opts.target;
    if (t.kind === "tcp") {
      headers.host = `${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
      if (opts.apiToken !== undefined) headers.authorization = `Bearer ${opts.apiToken}`;
    } else headers.host = "localhost";
    const where = t.kind === "unix" ? { socketPath: t.path } : { host: t.host, port: t.port };
    const upstream = http.request({ ...where, method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", (e) => {
      if (!res.headersSent) refuse(res, 502, `the management API does not answer: ${e.message}`);
      else res.destroy();
    });
    // A browser that goes away (a closed dashboard) ends its stream upstream too.
    res.on("close", () => upstream.destroy());
    req.pipe(upstream);
  });

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: opts.port }, () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/ui/#token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
