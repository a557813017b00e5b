/**
 * The management API on a TCP address against a real knot-resolver: what a web page could send
 * (a cross-origin POST /stop as text/plain, a DNS-rebound Host, a text/plain PUT of Lua) is refused
 * and the resolver keeps running with the same workers; with management/token-file, kresctl finds
 * and sends the token and a request without it gets 401.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import { KRESCTL, ensureBuilt, freePort, run, tmpDir } from "../../harness/index.js";
import { apiRequest } from "../../harness/api.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

const TOKEN = "3f1c0a9e5b7d2c4e6f8a0b1c2d3e4f5a";

/** The running kresd workers' PIDs by name, as supervisord sees them. */
async function workerPids(r: Resolver): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [name, row] of await r.status())
    if (name.startsWith("kresd:") && row.state === "RUNNING" && row.pid) out[name] = row.pid;
  return out;
}

describe("on 127.0.0.1@PORT without a token", () => {
  let r: Resolver;
  let at: string;
  let before: Record<string, number>;
  beforeAll(async () => {
    ensureBuilt();
    const port = await freePort();
    at = `127.0.0.1:${port}`;
    r = await startResolver({ config: { workers: 2, management: { interface: `127.0.0.1@${port}` } } });
    before = await workerPids(r);
  }, 180_000);
  afterAll(async () => {
    await r.stop();
  });

  it("refuses a cross-origin POST /stop sent as text/plain (a web page's simple request) with 403", async () => {
    const res = await apiRequest(at, "POST", "/stop", {
      payload: "",
      headers: {
        host: at,
        origin: "https://evil.example",
        "content-type": "text/plain",
        "content-length": "0",
      },
    });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: expect.stringContaining("cross-origin request refused") });
  });

  it("refuses a PUT of Lua through a rebound name with 403", async () => {
    const payload = JSON.stringify({ script: "os.exit(1)" });
    const res = await apiRequest(at, "PUT", "/v1/config/lua", {
      payload,
      headers: {
        host: `rebound.example:${at.split(":")[1]}`,
        "content-type": "application/json",
        "content-length": String(payload.length),
      },
    });
    expect(res.status).toBe(403);
    expect(res.json).toEqual({ error: expect.stringContaining("does not name this API's interface") });
  });

  it("refuses a text/plain PUT with 415", async () => {
    const res = await apiRequest(at, "PUT", "/v1/config/workers", {
      payload: "3",
      headers: { host: at, "content-type": "text/plain", "content-length": "1" },
    });
    expect(res.status).toBe(415);
    expect(res.json).toEqual({ error: expect.stringContaining("needs a JSON or YAML body type") });
  });

  it("keeps running with the same workers, and still serves kresctl", async () => {
    expect(await workerPids(r)).toEqual(before);
    const pids = await run(KRESCTL, ["-c", r.configFile, "pids", "kresd"]);
    expect({ code: pids.code, stderr: pids.stderr }).toEqual({ code: 0, stderr: "" });
    expect(
      pids.stdout
        .trim()
        .split("\n")
        .map(Number)
        .sort((a, b) => a - b),
    ).toEqual(Object.values(before).sort((a, b) => a - b));
    // A bodiless POST as kresctl sends it (no Content-Type) still works.
    const reload = await run(KRESCTL, ["-c", r.configFile, "reload"]);
    expect({ code: reload.code, stderr: reload.stderr }).toEqual({ code: 0, stderr: "" });
    expect(await workerPids(r)).toEqual(before);
  });

  it("logs no exposure warning for a loopback address", () => {
    expect(r.log).not.toMatch(/not a loopback address/);
  });
});

describe("on 127.0.0.1@PORT with management/token-file", () => {
  let r: Resolver;
  let at: string;
  beforeAll(async () => {
    ensureBuilt();
    const dir = tmpDir("krm-api-token-");
    const tokenFile = path.join(dir, "api.token");
    fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
    const port = await freePort();
    at = `127.0.0.1:${port}`;
    r = await startResolver({
      config: { workers: 1, management: { interface: `127.0.0.1@${port}`, "token-file": tokenFile } },
    });
  }, 180_000);
  afterAll(async () => {
    await r.stop();
  });

  it("answers 401 to a request without the token, and to a wrong one", async () => {
    const none = await apiRequest(at, "GET", "/v1/config/workers", { headers: { host: at } });
    expect(none.status).toBe(401);
    expect(none.headers["www-authenticate"]).toBe('Bearer realm="knot-resolver"');
    const wrong = await apiRequest(at, "POST", "/stop", {
      headers: { host: at, authorization: `Bearer ${TOKEN.replace(/.$/, "0")}` },
    });
    expect(wrong.status).toBe(401);
  });

  it("serves a request with the token", async () => {
    const res = await apiRequest(at, "GET", "/v1/config/workers", {
      headers: { host: at, authorization: `Bearer ${TOKEN}` },
    });
    expect([res.status, res.json]).toEqual([200, 1]);
  });

  it("serves kresctl, which reads the token file the config names", async () => {
    const res = await run(KRESCTL, ["-c", r.configFile, "config", "get", "-p", "/workers"]);
    expect(res).toMatchObject({ code: 0, stdout: "1\n", stderr: "" });
  });

  it("serves kresctl -s with $KRES_MANAGER_TOKEN_FILE, and says 401 without it", async () => {
    const tokenFile = path.join(path.dirname(r.configFile), "env.token");
    fs.writeFileSync(tokenFile, TOKEN, { mode: 0o600 });
    const withToken = await run(KRESCTL, ["-s", at, "config", "get", "-p", "/workers"], {
      env: { ...process.env, KRES_MANAGER_TOKEN_FILE: tokenFile },
    });
    expect(withToken).toMatchObject({ code: 0, stdout: "1\n" });
    const env = { ...process.env };
    delete env.KRES_MANAGER_TOKEN_FILE;
    const without = await run(KRESCTL, ["-s", at, "config", "get", "-p", "/workers"], { env });
    expect(without.code).toBe(1);
    expect(without.stderr).toMatch(/needs 'Authorization: Bearer <token>'/);
  });
});
