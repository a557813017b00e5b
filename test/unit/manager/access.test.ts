/**
 * Who may use the management API (lib/manager/access.ts): on the TCP interface, requests a web page
 * could send (a foreign Origin, a rebound Host name, a text/plain or form body) are refused before
 * any route runs, and with a token every request needs it; the unix socket keeps kresctl and curl
 * working as they are. Driven with supertest against the fake ManagerApi.
 */
import request from "supertest";
import { accessPolicyOf, exposureWarning, type AccessPolicy } from "../../../lib/manager/access.js";
import { logger } from "../../../lib/manager/logger.js";
import { createApp } from "../../../lib/manager/server.js";
import { FakeApi } from "./fake-api.js";

logger.silent = true;

const TOKEN = "0123456789abcdef0123456789abcdef";
const tcp = (addr: string, token?: string): AccessPolicy => ({
  kind: "tcp",
  addr,
  port: 5000,
  ...(token ? { token } : {}),
});
const HOST = { Host: "127.0.0.1:5000" };
const json = { "Content-Type": "application/json" };

let api: FakeApi;
beforeEach(() => {
  api = new FakeApi();
});
const appFor = (policy: AccessPolicy) => createApp(api, policy);

/** Lets a POST /stop's stop() run (it runs when the answer is finished). */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
}

describe("TCP interface: the Host header names the interface", () => {
  const app = () => appFor(tcp("127.0.0.1"));

  it.each(["127.0.0.1:5000", "localhost:5000", "LOCALHOST:5000"])("takes Host %s", async (host) => {
    await request(app()).get("/").set("Host", host).expect(200);
  });

  it.each([
    ["a rebound name", "attacker.example:5000"],
    ["another address", "127.0.0.2:5000"],
    ["another port", "127.0.0.1:5001"],
    ["no port (80)", "127.0.0.1"],
    ["a malformed one", "127.0.0.1:5000:1"],
    ["an empty one", ""],
  ])("refuses %s with 403 and a JSON error naming the interface", async (_what, host) => {
    const res = await request(app()).get("/").set("Host", host);
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/does not name this API's interface 127\.0\.0\.1:5000/);
  });

  it("refuses a rebound Host on a change before anything is read or done", async () => {
    const res = await request(app())
      .put("/v1/config/lua")
      .set({ Host: "attacker.example:5000", ...json })
      .send('{"script": "os.exit()"}');
    expect(res.status).toBe(403);
    expect(api.calls).toEqual([]);
  });

  it("takes an IPv6 address in brackets, in any spelling", async () => {
    const v6 = appFor(tcp("::1"));
    await request(v6).get("/").set("Host", "[::1]:5000").expect(200);
    await request(v6).get("/").set("Host", "[0:0:0:0:0:0:0:1]:5000").expect(200);
    await request(v6).get("/").set("Host", "localhost:5000").expect(200);
    await request(v6).get("/").set("Host", "::1:5000").expect(403);
  });

  it("takes localhost only for a loopback address", async () => {
    const lan = appFor(tcp("192.0.2.1"));
    await request(lan).get("/").set("Host", "192.0.2.1:5000").expect(200);
    await request(lan).get("/").set("Host", "localhost:5000").expect(403);
  });

  it("on a wildcard address takes any IP address and localhost, never a name", async () => {
    const any = appFor(tcp("0.0.0.0"));
    await request(any).get("/").set("Host", "192.0.2.7:5000").expect(200);
    await request(any).get("/").set("Host", "localhost:5000").expect(200);
    await request(any).get("/").set("Host", "resolver.example:5000").expect(403);
  });
});

describe("TCP interface: an Origin header must be the interface's own", () => {
  const app = () => appFor(tcp("127.0.0.1"));

  it("refuses a cross-origin POST /stop with text/plain (a simple request) with 403; nothing stops", async () => {
    const res = await request(app())
      .post("/stop")
      .set({ ...HOST, Origin: "https://evil.example", "Content-Type": "text/plain" })
      .send("x");
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/cross-origin request refused: Origin 'https:\/\/evil\.example'/);
    await settle();
    expect(api.calls).toEqual([]);
  });

  it("refuses a cross-origin POST without a body or Content-Type", async () => {
    await request(app())
      .post("/stop")
      .set({ ...HOST, Origin: "http://evil.example:5000" })
      .expect(403);
    await settle();
    expect(api.calls).toEqual([]);
  });

  it.each(["null", "http://127.0.0.1:5001", "https://127.0.0.1:5000", "http://attacker.example:5000"])(
    "refuses Origin %s",
    async (origin) => {
      await request(app())
        .get("/v1/config")
        .set({ ...HOST, Origin: origin })
        .expect(403);
    },
  );

  it.each(["http://127.0.0.1:5000", "http://localhost:5000"])("takes its own origin %s", async (origin) => {
    await request(app())
      .post("/reload")
      .set({ ...HOST, Origin: origin })
      .expect(200);
  });
});

describe("TCP interface: a change says its body is JSON or YAML", () => {
  const app = () => appFor(tcp("127.0.0.1"));

  it.each(["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])(
    "refuses PUT with %s with 415 before the change is made",
    async (type) => {
      const res = await request(app())
        .put("/v1/config/workers")
        .set({ ...HOST, "Content-Type": type })
        .send("3");
      expect(res.status).toBe(415);
      expect(res.body.error).toMatch(/needs a JSON or YAML body type/);
      expect(api.calls).toEqual([]);
    },
  );

  it("refuses a body without a Content-Type", async () => {
    await request(app())
      .put("/v1/config/workers")
      .set({ ...HOST, "Content-Length": "1" })
      .send("3")
      .expect(415);
  });

  it("refuses POST /stop with a form Content-Type and no body (an HTML form)", async () => {
    await request(app())
      .post("/stop")
      .set({ ...HOST, "Content-Type": "application/x-www-form-urlencoded" })
      .expect(415);
    await settle();
    expect(api.calls).toEqual([]);
  });

  it.each([
    "application/json",
    "application/json; charset=utf-8",
    "application/yaml",
    "text/yaml",
    "application/merge-patch+json",
  ])("takes PUT with %s", async (type) => {
    await request(app())
      .put("/v1/config/workers")
      .set({ ...HOST, "Content-Type": type })
      .send("3")
      .expect(200);
  });

  it("takes a bodiless POST with no Content-Type (kresctl, curl) or application/json (upstream's kresctl)", async () => {
    await request(app()).post("/reload").set(HOST).expect(200);
    await request(app())
      .post("/reload")
      .set({ ...HOST, ...json })
      .expect(200);
    await request(app()).delete("/v1/config/workers").set(HOST).expect(200);
  });

  it("lets reads through whatever their Content-Type", async () => {
    await request(app())
      .get("/v1/config")
      .set({ ...HOST, "Content-Type": "text/plain" })
      .expect(200);
  });
});

describe("TCP interface with a token", () => {
  const app = () => appFor(tcp("127.0.0.1", TOKEN));

  it("answers 401 with WWW-Authenticate to a request without Authorization", async () => {
    const res = await request(app()).get("/").set(HOST);
    expect(res.status).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="knot-resolver"');
    expect(res.body.error).toMatch(/needs 'Authorization: Bearer <token>'/);
  });

  it.each([
    ["a wrong token", `Bearer ${TOKEN}x`],
    ["a prefix of it", `Bearer ${TOKEN.slice(0, 8)}`],
    ["another scheme", `Basic ${TOKEN}`],
    ["the bare token", TOKEN],
  ])("answers 401 to %s; nothing is done", async (_what, authorization) => {
    await request(app())
      .post("/stop")
      .set({ ...HOST, Authorization: authorization })
      .expect(401);
    await settle();
    expect(api.calls).toEqual([]);
  });

  it("serves a request with the token", async () => {
    await request(app())
      .get("/")
      .set({ ...HOST, Authorization: `Bearer ${TOKEN}` })
      .expect(200);
    await request(app())
      .post("/reload")
      .set({ ...HOST, Authorization: `bearer ${TOKEN}` })
      .expect(200);
  });
});

describe("the unix socket", () => {
  const app = () => appFor({ kind: "unix" });

  it("takes any Host (kresctl and curl send localhost, upstream's kresctl the encoded path)", async () => {
    await request(app()).get("/").set("Host", "%2Frun%2Fknot-resolver%2Fkres-api.sock").expect(200);
    await request(app()).get("/").set("Host", "x").expect(200);
  });

  it("takes a text/plain body, as curl -d sends", async () => {
    await request(app()).put("/v1/config/workers").set("Content-Type", "text/plain").send("3").expect(200);
  });

  it("refuses any Origin: no browser is served there (one behind a proxy would be)", async () => {
    const res = await request(app()).post("/stop").set("Origin", "http://localhost");
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/not served on the unix socket/);
  });
});

describe("the policy and the start-up warning", () => {
  it("reads the management section", () => {
    expect(accessPolicyOf({ "unix-socket": "/run/x.sock" })).toEqual({ kind: "unix" });
    expect(accessPolicyOf({ interface: "::1@5000" }, TOKEN)).toEqual({
      kind: "tcp",
      addr: "::1",
      port: 5000,
      token: TOKEN,
    });
  });

  it("warns about a non-loopback address, saying whether a token guards it", () => {
    expect(exposureWarning(tcp("127.0.0.1"))).toBeUndefined();
    expect(exposureWarning(tcp("::1"))).toBeUndefined();
    expect(exposureWarning({ kind: "unix" })).toBeUndefined();
    expect(exposureWarning(tcp("192.0.2.1"))).toMatch(
      /192\.0\.2\.1:5000, which is not a loopback address.*nothing authenticates them \(set management\/token-file\)/,
    );
    expect(exposureWarning(tcp("0.0.0.0", TOKEN))).toMatch(/needs the token of management\/token-file/);
  });
});
