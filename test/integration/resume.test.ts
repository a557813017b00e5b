/**
 * A manager restarted by its supervisord resumes the configuration that ran, API changes included,
 * instead of re-reading the files; a fresh start reads the files. Real supervisord, manager and
 * kresd 5.6 workers, kdig for the answers and each worker's control socket for what it runs.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import { controlCall, kdigAt, waitFor } from "../../harness/index.js";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import { Resolver, Resolvers, type ResolverOptions } from "../../harness/resolver.js";

jest.setTimeout(180_000);

const resolvers = new Resolvers();
const resolver = (opts?: ResolverOptions) => resolvers.start(opts);
afterAll(() => resolvers.stopAll());

interface Status {
  pid: number;
  etag: string;
  "config-source": { from: string; etag?: string; "saved-by"?: string; "not-resumed"?: string };
}

const status = async (r: Resolver): Promise<Status> =>
  (await apiCall(r.apiSocket, "GET", "/")).json as Status;
const bare = (etag: string | undefined) => etag?.replace(/"/g, "");

/** PIDs of the running kresd workers by id ("kresd0" → pid), as GET /processes/kresd lists them. */
async function workers(r: Resolver): Promise<Record<string, number>> {
  const rows = (await apiCall(r.apiSocket, "GET", "/processes/kresd")).json as {
    id: string;
    pid: number;
    status: string;
  }[];
  return Object.fromEntries(rows.filter((p) => p.status === "running").map((p) => [p.id, p.pid]));
}

/** Kills the manager with -9 and waits until a new one answers GET / (it opens the API last). */
async function killManager(r: Resolver, pid: number): Promise<Status> {
  process.kill(pid, "SIGKILL");
  return waitFor(
    "a new manager answering",
    async () => {
      const s = await status(r).catch(() => undefined);
      return s && s.pid !== pid ? s : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

/** What each running worker itself says its cache's minimum TTL is, by worker id. */
async function minTtls(r: Resolver): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [id, pid] of Object.entries(await workers(r))) {
    const [answer] = await controlCall(path.join(r.rundir, "control", String(pid)), ["cache.min_ttl()"]);
    out[id] = String(answer).trim();
  }
  return out;
}

const put = (r: Resolver, pointer: string, value: unknown): Promise<ApiResponse> =>
  apiCall(r.apiSocket, "PUT", `/v1/config${pointer}`, { body: value });

describe("after kill -9 of the manager", () => {
  let r: Resolver;
  beforeAll(async () => {
    r = await resolver({
      config: { workers: 2, "local-data": { addresses: { "router.home.arpa": "192.0.2.1" } } },
    });
  });

  it("the new manager serves the changed config and its ETag, adopts the same workers, the name still resolves", async () => {
    const patch = await apiCall(r.apiSocket, "PATCH", "/v1/config/local-data/addresses", {
      body: { "api.home.arpa": "192.0.2.99" },
    });
    expect(patch.status).toBe(200);
    expect((await kdigAt(r.port, "api.home.arpa", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.99"]);
    const config = await apiCall(r.apiSocket, "GET", "/v1/config");
    expect(config.headers.etag).toBe(patch.headers.etag);
    const pids = await workers(r);
    expect(Object.keys(pids)).toEqual(["kresd0", "kresd1"]);
    const before = await status(r);
    expect(before["config-source"]).toEqual({ from: "files", files: [r.configFile] });

    const after = await killManager(r, before.pid);

    const resumed = await apiCall(r.apiSocket, "GET", "/v1/config");
    expect(resumed.json).toEqual(config.json);
    expect(resumed.headers.etag).toBe(config.headers.etag);
    expect(after).toMatchObject({
      etag: bare(config.headers.etag),
      "config-source": {
        from: "resumed",
        etag: bare(config.headers.etag),
        "saved-by": "PATCH /v1/config/local-data/addresses",
      },
    });
    expect(await workers(r)).toEqual(pids);
    for (const [id, pid] of Object.entries(pids)) expect(r.log).toContain(`adopted kresd:${id} (pid ${pid})`);
    expect((await kdigAt(r.port, "api.home.arpa", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.99"]);
    // The change still goes on from there: If-Match with the acknowledged ETag is honoured.
    const next = await apiCall(r.apiSocket, "PUT", "/v1/config/local-data/addresses/api.home.arpa", {
      body: JSON.stringify("192.0.2.100"),
      headers: { "content-type": "application/json", "if-match": config.headers.etag as string },
    });
    expect(next.status).toBe(200);
  });

  it("a saved configuration that is corrupt is not resumed: a warning says why, the files are read", async () => {
    const saved = path.join(r.rundir, "running-config.json");
    expect((await kdigAt(r.port, "api.home.arpa", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.100"]);
    fs.writeFileSync(saved, fs.readFileSync(saved, "utf8").slice(0, 40));
    const after = await killManager(r, (await status(r)).pid);
    expect(after["config-source"]).toEqual({
      from: "files",
      files: [r.configFile],
      "not-resumed": expect.stringMatching(/^not JSON: /),
    });
    expect(r.log).toContain(`not resuming the configuration saved in ${saved}: not JSON: `);
    const config = await apiCall(r.apiSocket, "GET", "/v1/config");
    expect(config.json).toEqual(JSON.parse(fs.readFileSync(r.configFile, "utf8")));
    // The workers were brought to the files' config, and that is what is saved now.
    expect((await kdigAt(r.port, "api.home.arpa", "A")).answers).toEqual([]);
    expect((await kdigAt(r.port, "router.home.arpa", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.1"]);
    expect(JSON.parse(fs.readFileSync(saved, "utf8"))).toMatchObject({ etag: bare(config.headers.etag) });
  });
});

describe("kill -9 of the manager during a rolling restart, then a fresh start", () => {
  let r: Resolver;
  // The files say 5 s; an acknowledged change makes it 6 s; the interrupted one asks for 7 s.
  beforeAll(async () => {
    r = await resolver({ config: { workers: 4, cache: { "ttl-min": "5s" } } });
  });

  it("ends with every worker on the last configuration fully applied, and GET / says it was resumed", async () => {
    const acknowledged = await put(r, "/cache/ttl-min", "6s");
    expect(acknowledged.status).toBe(200);
    expect(Object.values(await minTtls(r))).toEqual(["6", "6", "6", "6"]);
    const manager = (await status(r)).pid;

    const logFrom = r.log.length;
    const interrupted = put(r, "/cache/ttl-min", "7s").then(
      (res) => `answered ${res.status}`,
      (e: Error) => `no answer: ${e.message}`,
    );
    // Mid-way: the canary took 7 s and one worker was replaced, three are still to go.
    const replaced = await waitFor(
      "the first worker replaced",
      () => /restarted kresd:kresd0 \(pid (\d+)\)/.exec(r.log.slice(logFrom))?.[1],
      { timeoutMs: 60_000, intervalMs: 5 },
    );
    const after = await killManager(r, manager);
    expect(await interrupted).toMatch(/^no answer: /);

    expect(after).toMatchObject({
      etag: bare(acknowledged.headers.etag),
      "config-source": {
        from: "resumed",
        etag: bare(acknowledged.headers.etag),
        "saved-by": "PUT /v1/config/cache/ttl-min",
      },
    });
    expect((await apiCall(r.apiSocket, "GET", "/v1/config/cache/ttl-min")).json).toBe("6s");
    // Each worker says so itself, the one already on 7 s replaced again; the canary is gone.
    const pids = await workers(r);
    expect(Object.keys(pids).sort()).toEqual(["kresd0", "kresd1", "kresd2", "kresd3"]);
    expect(pids.kresd0).not.toBe(Number(replaced));
    expect(await minTtls(r)).toEqual({ kresd0: "6", kresd1: "6", kresd2: "6", kresd3: "6" });
    const lua = [0, 1, 2, 3].map((id) => fs.readFileSync(path.join(r.rundir, `kresd${id}.lua`), "utf8"));
    expect(new Set(lua).size).toBe(1);
    expect(lua[0]).toContain("cache.min_ttl(6)");
    expect(await r.supervisorctl("status")).not.toMatch(/^kresd:kresd256 +RUNNING/m);
  });

  it("a fresh start after stop reads the files: nothing of the earlier run is resumed", async () => {
    const saved = path.join(r.rundir, "running-config.json");
    const previous = await status(r);
    await r.stop();
    expect(fs.existsSync(saved)).toBe(true); // still there; the fresh start must not take it

    const again = new Resolver(r.dir, r.configFile, r.rundir, r.port, {});
    resolvers.keep(again);
    await again.waitReady();
    const s = await status(again);
    expect(s["config-source"]).toEqual({ from: "files", files: [r.configFile] });
    expect(s.etag).not.toBe(previous.etag);
    const config = await apiCall(again.apiSocket, "GET", "/v1/config");
    expect(config.json).toEqual(JSON.parse(fs.readFileSync(r.configFile, "utf8")));
    expect(Object.values(await minTtls(again))).toEqual(["5", "5", "5", "5"]);
    expect(again.log).not.toContain("resuming the configuration");
    expect(again.log).not.toContain("not resuming");
  });
});
