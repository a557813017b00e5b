/**
 * The dashboard's routes of the HTTP app: its files at /ui/ (gzip when accepted, revalidated by
 * ETag, nothing outside the built directory), /schema/ui, and the live stream GET /v1/stream, whose
 * shared sampler stops when the last client leaves. Driven against the fake ManagerApi.
 */
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import request from "supertest";
import type { AccessPolicy } from "../../../lib/manager/access.js";
import { logger } from "../../../lib/manager/logger.js";
import { METRIC_KEYS } from "../../../lib/datamodel/sections/monitoring/render.js";
import { createApp } from "../../../lib/manager/server.js";
import { acceptsGzip, UiAssets } from "../../../lib/manager/ui-assets.js";
import { FakeApi } from "./fake-api.js";

logger.silent = true;

const INDEX = "<!doctype html><title>dashboard</title>";
const APP_JS = `console.log(${JSON.stringify("x".repeat(2000))});`;

/** A built dashboard directory as scripts/build-ui.mjs leaves it (a file and its .gz). */
function builtUi(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-ui-"));
  for (const [name, text] of [
    ["index.html", INDEX],
    ["app.js", APP_JS],
  ] as const) {
    fs.writeFileSync(path.join(dir, name), text);
    fs.writeFileSync(path.join(dir, `${name}.gz`), zlib.gzipSync(text));
  }
  fs.writeFileSync(path.join(dir, "notes.txt"), "not an asset type");
  return dir;
}

const UI_DIR = builtUi();
afterAll(() => fs.rmSync(UI_DIR, { recursive: true, force: true }));

let api: FakeApi;
beforeEach(() => {
  api = new FakeApi();
});
const appFor = (policy: AccessPolicy = { kind: "unix" }) => createApp(api, policy, new UiAssets(UI_DIR));

describe("the dashboard's files at /ui/", () => {
  it("sends /ui to /ui/, which is index.html, uncompressed when gzip is not accepted", async () => {
    await request(appFor()).get("/ui").expect(301).expect("Location", "/ui/");
    const res = await request(appFor()).get("/ui/").set("Accept-Encoding", "identity");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/html; charset=utf-8");
    expect(res.headers["content-encoding"]).toBeUndefined();
    expect(res.text).toBe(INDEX);
  });

  it("sends the gzip copy to a client that accepts gzip, with Content-Encoding and Vary", async () => {
    const res = await request(appFor())
      .get("/ui/app.js")
      .set("Accept-Encoding", "gzip, deflate, br")
      .buffer(true)
      .parse((r, done) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => done(null, Buffer.concat(chunks)));
      });
    expect(res.headers["content-encoding"]).toBe("gzip");
    expect(res.headers["vary"]).toBe("Accept-Encoding");
    expect(res.headers["content-type"]).toBe("text/javascript; charset=utf-8");
    expect(Number(res.headers["content-length"])).toBeLessThan(APP_JS.length / 4);
    // superagent inflated what it got: the compressed bytes were the gzip copy of the file.
    expect((res.body as Buffer).toString()).toBe(APP_JS);
  });

  it("forbids scripts and connections to anywhere else and any framing", async () => {
    const res = await request(appFor()).get("/ui/");
    const csp = res.headers["content-security-policy"] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(res.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("answers 304 to a revalidation with the file's ETag", async () => {
    const first = await request(appFor()).get("/ui/app.js");
    expect(first.headers["cache-control"]).toBe("no-cache");
    await request(appFor())
      .get("/ui/app.js")
      .set("If-None-Match", first.headers.etag as string)
      .expect(304);
  });

  it.each([
    "/ui/nope.js",
    "/ui/notes.txt",
    "/ui/index.html.gz",
    "/ui/%2e%2e%2fpackage.json",
    "/ui/sub/app.js",
  ])("answers 404 to %s: only the built files are served", async (p) => {
    const res = await request(appFor()).get(p);
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/no such dashboard file/);
  });

  it("takes GET and HEAD only", async () => {
    await request(appFor()).head("/ui/app.js").expect(200);
    await request(appFor()).post("/ui/app.js").expect(405);
  });

  it("sends /schema/ui to the dashboard's schema page (nothing external)", async () => {
    await request(appFor()).get("/schema/ui").expect(302).expect("Location", "/ui/#schema");
  });
});

describe("accepted encodings", () => {
  it.each([
    ["gzip", true],
    ["deflate, gzip;q=0.5", true],
    ["*", true],
    ["gzip;q=0", false],
    ["br", false],
    [undefined, false],
  ])("Accept-Encoding %s: gzip %s", (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe("a TCP interface with a token", () => {
  const TOKEN = "0123456789abcdef0123456789abcdef";
  const policy: AccessPolicy = { kind: "tcp", addr: "127.0.0.1", port: 5000, token: TOKEN };
  const HOST = { Host: "127.0.0.1:5000" };

  it("serves the dashboard's files without the token (a browser opening the URL has none)", async () => {
    await request(appFor(policy)).get("/ui/").set(HOST).expect(200);
    await request(appFor(policy)).get("/ui/app.js").set(HOST).expect(200);
  });

  it("still checks Host and Origin for them", async () => {
    await request(appFor(policy)).get("/ui/").set("Host", "evil.example:5000").expect(403);
    await request(appFor(policy))
      .get("/ui/")
      .set({ ...HOST, Origin: "http://evil.example" })
      .expect(403);
  });

  it("wants the token for everything else: the stream, the schema page's data, a POST to /ui/", async () => {
    await request(appFor(policy)).get("/v1/stream").set(HOST).expect(401);
    await request(appFor(policy)).get("/schema").set(HOST).expect(401);
    await request(appFor(policy)).post("/ui/").set(HOST).expect(401);
    expect(api.callsTo("liveStatistics")).toEqual([]);
  });
});

/** Reads server-sent events from a listening app until `enough` says stop; then disconnects. */
async function readEvents(
  app: ReturnType<typeof createApp>,
  enough: (events: { event: string; data: unknown }[]) => boolean,
): Promise<{ events: { event: string; data: unknown }[]; headers: http.IncomingHttpHeaders }> {
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  try {
    return await new Promise((resolve, reject) => {
      const events: { event: string; data: unknown }[] = [];
      const req = http.get({ host: "127.0.0.1", port, path: "/v1/stream" }, (res) => {
        let buffer = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          buffer += chunk;
          let end: number;
          while ((end = buffer.indexOf("\n\n")) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1] ?? "";
            const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? "null") as unknown;
            events.push({ event, data });
          }
          if (enough(events)) {
            req.destroy();
            resolve({ events, headers: res.headers });
          }
        });
      });
      req.on("error", (e) => (e.message === "socket hang up" ? undefined : reject(e)));
    });
  } finally {
    server.closeAllConnections();
    server.close();
  }
}

describe("GET /v1/stream", () => {
  it("sends the backlog, the state, then samples; the sampler stops when the client leaves", async () => {
    // Each reading finds 5 more requests than the one before.
    let n = 0;
    api.liveValues = () => {
      n += 5;
      return [
        { id: "kresd:kresd0", pid: 10, statistics: METRIC_KEYS.map((k) => (k === "request.total" ? n : 0)) },
      ];
    };
    const { events, headers } = await readEvents(
      appFor(),
      (ev) => ev.filter((e) => e.event === "sample").length >= 3,
    );
    expect(headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(headers["cache-control"]).toBe("no-store");
    expect(events[0]).toEqual({ event: "backlog", data: { samples: [] } });
    const state = events.find((e) => e.event === "state");
    expect(state?.data).toEqual({ status: { etag: api.etag }, processes: expect.any(Array) });
    const samples = events.filter((e) => e.event === "sample").map((e) => e.data as { qps: number | null });
    expect(samples.slice(1).every((s) => typeof s.qps === "number" && s.qps > 0)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect(api.live.running).toBe(false);
  });
});
