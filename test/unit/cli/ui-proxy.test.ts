/**
 * `kresctl ui`'s loopback proxy (lib/cli/ui-proxy.ts) in front of a stand-in API on a unix socket
 * that echoes what reached it: the dashboard's files pass without the token, everything else needs
 * it, a foreign Host or Origin is refused, and what is forwarded carries neither the browser's
 * Origin nor the proxy's token.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { startUiProxy, type UiProxy } from "../../../lib/cli/ui-proxy.js";

interface Echo {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let dir: string;
let api: http.Server;
let proxy: UiProxy;
/** Requests that reached the stand-in API. */
let reached = 0;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-ui-proxy-"));
  api = http.createServer((req, res) => {
    reached++;
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      res.writeHead(200, { "Content-Type": "application/json", ETag: '"abc"' });
      res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body }));
    });
  });
  await new Promise<void>((r) => api.listen(path.join(dir, "api.sock"), r));
  proxy = await startUiProxy({ target: { kind: "unix", path: path.join(dir, "api.sock") }, port: 0 });
});

afterAll(async () => {
  await proxy.close();
  api.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** One request to the proxy; the status, headers and the echo (or error) it answered with. */
function send(
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Echo & { error?: string } }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port: proxy.port, method, path: urlPath, headers, agent: false },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => (text += c.toString()));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: JSON.parse(text) as Echo }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const bearer = () => ({ Authorization: `Bearer ${proxy.token}` });

describe("kresctl ui's proxy", () => {
  it("listens on 127.0.0.1 and prints a URL of /ui/ with the token in the fragment", () => {
    expect(proxy.url).toBe(`http://127.0.0.1:${proxy.port}/ui/#token=${proxy.token}`);
    expect(proxy.token).toMatch(/^[\w-]{32}$/);
  });

  it("forwards the dashboard's files without a token", async () => {
    const r = await send("GET", "/ui/app.js");
    expect(r.status).toBe(200);
    expect(r.body.url).toBe("/ui/app.js");
  });

  it.each([
    ["no token", {}],
    ["a wrong token", { Authorization: "Bearer nope" }],
  ])("answers 401 to an API request with %s and forwards nothing", async (_what, headers) => {
    const before = reached;
    const r = await send("POST", "/stop", headers);
    expect(r.status).toBe(401);
    expect(reached).toBe(before);
    expect(r.body.error).toMatch(/token/);
  });

  it("forwards an API request with the token: method, path, query, body, answer headers", async () => {
    const r = await send(
      "PUT",
      "/v1/config/workers?dry-run=true",
      { ...bearer(), "Content-Type": "application/json", "If-Match": '"x"' },
      "3",
    );
    expect(r.status).toBe(200);
    expect(r.headers.etag).toBe('"abc"');
    expect(r.body).toMatchObject({ method: "PUT", url: "/v1/config/workers?dry-run=true", body: "3" });
    expect(r.body.headers["if-match"]).toBe('"x"');
    // The unix socket takes no token and refuses any Origin: neither is passed on.
    expect(r.body.headers.authorization).toBeUndefined();
    expect(r.body.headers.host).toBe("localhost");
  });

  it("takes its own Origin (the dashboard's requests) and does not pass it on", async () => {
    const r = await send("POST", "/reload", { ...bearer(), Origin: `http://127.0.0.1:${proxy.port}` });
    expect(r.status).toBe(200);
    expect(r.body.headers.origin).toBeUndefined();
  });

  it.each([
    ["another site's Origin", () => ({ Origin: "http://evil.example" })],
    ["a Host name that is not the proxy (DNS rebinding)", () => ({ Host: `evil.example:${proxy.port}` })],
  ])("refuses %s with 403, token or not", async (_what, headers) => {
    const h: Record<string, string> = { ...bearer(), ...headers() };
    const before = reached;
    const r = await send("GET", "/processes", h);
    expect(r.status).toBe(403);
    expect(reached).toBe(before);
  });

  it("answers 502 when the API does not answer", async () => {
    const other = await startUiProxy({
      target: { kind: "unix", path: path.join(dir, "none.sock") },
      port: 0,
    });
    try {
      const r = await new Promise<number>((resolve, reject) => {
        http
          .get({ host: "127.0.0.1", port: other.port, path: "/ui/", agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on("error", reject);
      });
      expect(r).toBe(502);
    } finally {
      await other.close();
    }
  });

  it("sends the API's own token to a TCP interface, with that interface as Host", async () => {
    const tcpApi = http.createServer((req, res) => res.end(JSON.stringify({ headers: req.headers })));
    await new Promise<void>((r) => tcpApi.listen(0, "127.0.0.1", r));
    const port = (tcpApi.address() as AddressInfo).port;
    const p = await startUiProxy({
      target: { kind: "tcp", host: "127.0.0.1", port },
      apiToken: "api-secret",
      port: 0,
    });
    try {
      const r = await new Promise<Echo>((resolve, reject) => {
        http
          .get(
            {
              host: "127.0.0.1",
              port: p.port,
              path: "/",
              headers: { Authorization: `Bearer ${p.token}` },
              agent: false,
            },
            (res) => {
              let t = "";
              res.on("data", (c: Buffer) => (t += c.toString()));
              res.on("end", () => resolve(JSON.parse(t) as Echo));
            },
          )
          .on("error", reject);
      });
      expect(r.headers.authorization).toBe("Bearer api-secret");
      expect(r.headers.host).toBe(`127.0.0.1:${port}`);
    } finally {
      await p.close();
      tcpApi.close();
    }
  });
});
