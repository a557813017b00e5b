/**
 * The management HTTP API against a real knot-resolver (supervisord, manager, kresd 5.6): the
 * evidence is kresd PIDs seen by supervisorctl and kdig answers.
 */
import { jest } from "@jest/globals";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import { freePort, kdigAt, waitFor } from "../../harness/index.js";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

let r: Resolver;
const api = (method: string, path: string, req?: Parameters<typeof apiCall>[3]): Promise<ApiResponse> =>
  apiCall(r.apiSocket, method, path, req);

/** PIDs of the running kresd processes by name, as supervisord sees them. */
async function workerPids(): Promise<Map<string, number | undefined>> {
  const out = new Map<string, number | undefined>();
  for (const [name, row] of await r.status())
    if (name.startsWith("kresd:") && row.state === "RUNNING") out.set(name, row.pid);
  return out;
}

/** Waits until the last change the manager finished came from `source` (e.g. "SIGHUP"). */
async function lastChangeFrom(source: string): Promise<{ outcome: string; message?: string }> {
  return waitFor(
    `a change from ${source}`,
    async () => {
      const last = ((await api("GET", "/")).json as { "last-change"?: { source: string; outcome: string } })[
        "last-change"
      ];
      return last?.source === source ? last : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 100 },
  );
}

async function addressOf(name: string): Promise<string[]> {
  const res = await kdigAt(r.port, name, "A");
  return res.answers.filter((a) => a.type === "A").map((a) => a.data);
}

beforeAll(async () => {
  r = await startResolver({
    config: { workers: 2, "local-data": { addresses: { "one.test.": "192.0.2.1" } } },
  });
});
afterAll(async () => {
  await r.stop();
});

describe("reading", () => {
  it("answers GET / with the status", async () => {
    const res = await api("GET", "/");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ status: "RUNNING", workers: 2 });
  });

  it("creates the API socket with mode 0660", () => {
    const st = fs.statSync(r.apiSocket);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o660);
  });

  it("returns the config and subtrees by JSON pointer, each with the config's ETag", async () => {
    const whole = await api("GET", "/v1/config");
    expect(whole.status).toBe(200);
    expect(whole.json).toMatchObject({ workers: 2, rundir: r.rundir });
    const etag = whole.headers.etag;
    expect(etag).toMatch(/^"[0-9a-f]+"$/);
    const workers = await api("GET", "/v1/config/workers");
    expect([workers.status, workers.json, workers.headers.etag]).toEqual([200, 2, etag]);
    const addr = await api("GET", "/v1/config/local-data/addresses/one.test.");
    expect(addr.json).toEqual("192.0.2.1"); // as written: the API edits the document, not its defaults
    expect((await api("GET", "/v1/config/cache/storage")).json).toBe(`${r.rundir}/cache`);
  });

  it("answers 304 to If-None-Match with the current ETag", async () => {
    const { headers } = await api("GET", "/v1/config");
    const res = await api("GET", "/v1/config/workers", {
      headers: { "if-none-match": headers.etag as string },
    });
    expect(res.status).toBe(304);
    expect(res.text).toBe("");
  });

  it("answers 404 for a pointer that names nothing, and for an unknown endpoint", async () => {
    const res = await api("GET", "/v1/config/no-such-key");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: expect.stringContaining("no-such-key") });
    expect((await api("GET", "/no/such/endpoint")).status).toBe(404);
  });

  it("answers 405 with Allow for a method a path does not take", async () => {
    const post = await api("POST", "/v1/config/workers", { body: 3 });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toContain("PUT");
    const whole = await api("DELETE", "/v1/config");
    expect([whole.status, whole.headers.allow]).toEqual([405, "GET, HEAD, PUT, PATCH"]);
    const get = await api("GET", "/reload");
    expect([get.status, get.headers.allow]).toEqual([405, "POST"]);
  });

  it("serves the JSON Schema", async () => {
    const res = await api("GET", "/schema");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ type: "object", properties: { workers: expect.anything() } });
  });

  it("lists the processes with type, pid and status", async () => {
    const res = await api("GET", "/processes/kresd");
    const pids = [...(await workerPids()).values()].sort();
    const rows = res.json as { type: string; pid: number; status: string }[];
    expect(rows.map((p) => p.pid).sort()).toEqual(pids);
    expect(rows.every((p) => p.type === "kresd" && p.status === "running")).toBe(true);
    const all = (await api("GET", "/processes")).json as { type: string }[];
    expect(new Set(all.map((p) => p.type))).toEqual(new Set(["kresd", "gc", "manager"]));
    expect((await api("GET", "/processes/nope")).status).toBe(404);
  });
});

describe("changing the config", () => {
  it("PUT /v1/config/workers 3 starts one more kresd and leaves the others alone", async () => {
    const before = await workerPids();
    const res = await api("PUT", "/v1/config/workers", { body: 3 });
    expect([res.status, res.json]).toEqual([200, 3]);
    const after = await workerPids();
    expect([...after.keys()].sort()).toEqual(["kresd:kresd0", "kresd:kresd1", "kresd:kresd2"]);
    expect(after.get("kresd:kresd0")).toBe(before.get("kresd:kresd0"));
    expect(after.get("kresd:kresd1")).toBe(before.get("kresd:kresd1"));
    expect((await api("GET", "/v1/config/workers")).json).toBe(3);
  });

  it("PATCH adds local-data addresses that DNS then answers, keeping the existing ones; every worker restarted", async () => {
    const before = await workerPids();
    const res = await api("PATCH", "/v1/config/local-data/addresses", { body: { "two.test.": "192.0.2.2" } });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ "one.test.": "192.0.2.1", "two.test.": "192.0.2.2" });
    expect(await addressOf("two.test.")).toEqual(["192.0.2.2"]);
    expect(await addressOf("one.test.")).toEqual(["192.0.2.1"]);
    const after = await workerPids();
    expect(after.size).toBe(3);
    for (const [name, pid] of after) expect([name, pid]).not.toEqual([name, before.get(name)]);
  });

  it("DELETE removes an answer, and answers 200 with the new ETag and an empty body (as upstream)", async () => {
    const before = (await api("GET", "/v1/config")).headers.etag;
    // As upstream's kresctl sends it: a JSON content type and no body.
    const res = await api("DELETE", "/v1/config/local-data/addresses/two.test.", {
      headers: { "content-type": "application/json" },
    });
    expect([res.status, res.text]).toEqual([200, ""]);
    expect(res.headers.etag).toMatch(/^"[0-9a-f]+"$/);
    expect(res.headers.etag).not.toBe(before);
    expect((await api("GET", "/v1/config")).headers.etag).toBe(res.headers.etag);
    expect(await addressOf("two.test.")).toEqual([]);
    expect(await addressOf("one.test.")).toEqual(["192.0.2.1"]);
  });

  it("takes a YAML body", async () => {
    const res = await api("PUT", "/v1/config/local-data/addresses", {
      body: "one.test.: 192.0.2.1\nthree.test.:\n  - 192.0.2.3\n",
      headers: { "content-type": "application/yaml" },
    });
    expect(res.status).toBe(200);
    expect(await addressOf("three.test.")).toEqual(["192.0.2.3"]);
  });

  it("applies an upstream-style JSON Patch (PATCH /v1/config, paths from the root): every worker restarted with it", async () => {
    const before = await workerPids();
    const etag = (await api("GET", "/v1/config")).headers.etag;
    const res = await api("PATCH", "/v1/config", {
      body: [
        { op: "test", path: "/workers", value: 3 },
        { op: "add", path: "/local-data/addresses/four.test.", value: "192.0.2.4" },
        { op: "copy", from: "/local-data/addresses/one.test.", path: "/local-data/addresses/copy.test." },
        { op: "remove", path: "/local-data/addresses/three.test." },
      ],
    });
    expect(res.status).toBe(200);
    expect((res.json as { "local-data": unknown })["local-data"]).toEqual({
      addresses: { "one.test.": "192.0.2.1", "four.test.": "192.0.2.4", "copy.test.": "192.0.2.1" },
    });
    expect(res.headers.etag).not.toBe(etag);
    expect((await api("GET", "/v1/config/local-data/addresses/four.test.")).json).toBe("192.0.2.4");
    expect(await addressOf("four.test.")).toEqual(["192.0.2.4"]);
    expect(await addressOf("copy.test.")).toEqual(["192.0.2.1"]);
    expect(await addressOf("three.test.")).toEqual([]);
    const after = await workerPids();
    expect(after.size).toBe(3);
    for (const [name, pid] of after) expect([name, pid]).not.toEqual([name, before.get(name)]);
  });

  it("applies a JSON Patch relative to the path, sent as application/json-patch+json", async () => {
    const res = await api("PATCH", "/v1/config/local-data/addresses", {
      body: JSON.stringify([{ op: "move", from: "/four.test.", path: "/five.test." }]),
      headers: { "content-type": "application/json-patch+json" },
    });
    expect([res.status, res.json]).toEqual([
      200,
      { "one.test.": "192.0.2.1", "copy.test.": "192.0.2.1", "five.test.": "192.0.2.4" },
    ]);
    expect(await addressOf("five.test.")).toEqual(["192.0.2.4"]);
    expect(await addressOf("four.test.")).toEqual([]);
  });

  it("answers a JSON Patch that changes nothing (a passing test) with 200 and the same ETag, workers untouched", async () => {
    const pids = await workerPids();
    const etag = (await api("GET", "/v1/config")).headers.etag;
    const res = await api("PATCH", "/v1/config/workers", { body: [{ op: "test", path: "", value: 3 }] });
    expect([res.status, res.json, res.headers.etag]).toEqual([200, 3, etag]);
    expect(await workerPids()).toEqual(pids);
  });
});

describe("refusing a change moves nothing", () => {
  async function unchangedAfter(attempt: () => Promise<ApiResponse>): Promise<ApiResponse> {
    const pids = await workerPids();
    const config = await api("GET", "/v1/config");
    const luaFiles = fs.readdirSync(r.rundir).filter((f) => f.endsWith(".lua"));
    const lua = new Map(luaFiles.map((f) => [f, fs.readFileSync(`${r.rundir}/${f}`, "utf8")]));
    const res = await attempt();
    expect(await workerPids()).toEqual(pids);
    const after = await api("GET", "/v1/config");
    expect(after.json).toEqual(config.json);
    expect(after.headers.etag).toBe(config.headers.etag);
    const luaAfter = fs.readdirSync(r.rundir).filter((f) => f.endsWith(".lua"));
    expect(new Map(luaAfter.map((f) => [f, fs.readFileSync(`${r.rundir}/${f}`, "utf8")]))).toEqual(lua);
    return res;
  }

  it("refuses an invalid value with 422 and the pointer of every problem", async () => {
    const res = await unchangedAfter(() =>
      api("PATCH", "/v1/config", { body: { workers: "many", cache: { "size-max": "lots" } } }),
    );
    expect(res.status).toBe(422);
    const body = res.json as { error: string; problems: { pointer: string }[]; details: string[] };
    expect(body.problems.map((p) => p.pointer).sort()).toEqual(["/cache/size-max", "/workers"]);
    expect(body.details.join("\n")).toContain("/workers");
  });

  it("refuses Lua a canary kresd fails on, with the worker's own error text", async () => {
    const res = await unchangedAfter(() =>
      api("PUT", "/v1/config/lua/script", {
        body: JSON.stringify(`${OFFLINE_LUA}\nerror('canary says no')\n`),
        headers: { "content-type": "application/json" },
      }),
    );
    expect(res.status).toBe(422);
    const body = res.json as { error: string; details: string[] };
    // kresd's own words: the Lua error with the file and line it came from
    expect(body.error).toMatch(/canary kresd: .*kresd256\.lua:\d+: canary says no/);
    expect(body.details.some((l) => l.includes("canary says no"))).toBe(true);
  });

  it("refuses a listen address another process holds", async () => {
    const port = await freePort();
    const tcp = net.createServer();
    await new Promise<void>((ok) => tcp.listen(port, "127.0.0.1", ok));
    const udp = dgram.createSocket("udp4");
    await new Promise<void>((ok) => udp.bind(port, "127.0.0.1", ok));
    try {
      const listen = (await api("GET", "/v1/config/network/listen")).json as unknown[];
      const res = await unchangedAfter(() =>
        api("PUT", "/v1/config/network/listen", { body: [...listen, { interface: `127.0.0.1@${port}` }] }),
      );
      expect(res.status).toBe(422);
      expect(res.json).toMatchObject({
        error: expect.stringMatching(
          /canary kresd: cannot listen on 127\.0\.0\.1@\d+ \(udp\): Address already in use/,
        ),
      });
    } finally {
      tcp.close();
      udp.close();
    }
  });

  it.each([
    [
      "a failed test: 409 naming the operation",
      [
        { op: "replace", path: "/workers", value: 1 },
        { op: "test", path: "/local-data/addresses/one.test.", value: "192.0.2.99" },
      ],
      409,
      {
        error:
          'JSON Patch operation 1 (test /local-data/addresses/one.test.) failed: /local-data/addresses/one.test. is "192.0.2.1", not "192.0.2.99"',
        operation: 1,
        op: "test",
        path: "/local-data/addresses/one.test.",
      },
    ],
    [
      "an operation on a value that is not there: 409",
      [
        { op: "replace", path: "/workers", value: 1 },
        { op: "remove", path: "/local-data/addresses/nowhere.test." },
      ],
      409,
      expect.objectContaining({ operation: 1, op: "remove", path: "/local-data/addresses/nowhere.test." }),
    ],
    [
      "an unknown op: 400 naming its index",
      [
        { op: "replace", path: "/workers", value: 1 },
        { op: "frobnicate", path: "/workers" },
      ],
      400,
      {
        error:
          "JSON Patch operation 1: 'op' must be one of add, remove, replace, move, copy, test, not \"frobnicate\"",
        operation: 1,
      },
    ],
    [
      "a prototype name: 400",
      [{ op: "add", path: "/__proto__", value: { workers: 1 } }],
      400,
      expect.objectContaining({ operation: 0, error: expect.stringContaining("'__proto__' is reserved") }),
    ],
    [
      "a result that is no valid config: 422 with the pointer",
      [{ op: "replace", path: "/workers", value: "many" }],
      422,
      expect.objectContaining({ problems: [expect.objectContaining({ pointer: "/workers" })] }),
    ],
  ])("refuses a JSON Patch with %s; nothing moves", async (_name, patch, status, body) => {
    const res = await unchangedAfter(() => api("PATCH", "/v1/config", { body: patch }));
    expect([res.status, res.json]).toEqual([status, body]);
  });

  it("answers a stale If-Match with 412", async () => {
    const res = await unchangedAfter(() =>
      api("PUT", "/v1/config/workers", { body: 1, headers: { "if-match": '"0123456789abcdef"' } }),
    );
    expect(res.status).toBe(412);
  });

  it("applies a write whose If-Match is current", async () => {
    const { headers } = await api("GET", "/v1/config");
    const res = await api("PUT", "/v1/config/workers", {
      body: 2,
      headers: { "if-match": headers.etag as string },
    });
    expect(res.status).toBe(200);
    expect(res.headers.etag).not.toBe(headers.etag);
    expect((await workerPids()).size).toBe(2);
  });

  it("refuses to change rundir or management at run time, and the removed max-workers", async () => {
    for (const [pointer, value] of [
      ["/rundir", "/tmp"],
      ["/management", { interface: "127.0.0.1@5000" }],
      ["/max-workers", 8],
    ] as const) {
      const res = await unchangedAfter(() => api("PUT", `/v1/config${pointer}`, { body: value }));
      expect([pointer, res.status]).toEqual([pointer, 422]);
      expect(res.text).toContain(pointer);
    }
  });

  it("answers a malformed body with 400 naming the position", async () => {
    const res = await unchangedAfter(() =>
      api("PUT", "/v1/config/workers", {
        body: '{"a":\n  nope}',
        headers: { "content-type": "application/json" },
      }),
    );
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ error: expect.stringMatching(/line 2, column \d+/), line: 2 });
  });

  it("answers an oversized body with 413", async () => {
    const res = await unchangedAfter(() =>
      api("PUT", "/v1/config/nsid", {
        body: JSON.stringify("x".repeat(5 * 1024 * 1024)),
        headers: { "content-type": "application/json" },
      }),
    );
    expect(res.status).toBe(413);
  });

  it("answers an unsupported content type with 415", async () => {
    const res = await api("PUT", "/v1/config/workers", {
      body: "<workers/>",
      headers: { "content-type": "application/xml" },
    });
    expect(res.status).toBe(415);
  });
});

describe("reloading", () => {
  it("/reload/force replaces every worker PID", async () => {
    const before = await workerPids();
    const res = await api("POST", "/reload/force");
    expect(res.status).toBe(200);
    const after = await workerPids();
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [name, pid] of after) expect([name, pid]).not.toEqual([name, before.get(name)]);
  });

  it("POST /reload applies an edited file", async () => {
    const file = JSON.parse(fs.readFileSync(r.configFile, "utf8")) as Record<string, unknown>;
    file["local-data"] = { addresses: { "file.test.": "192.0.2.50" } };
    fs.writeFileSync(r.configFile, JSON.stringify(file));
    const res = await api("POST", "/reload");
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ changed: true });
    expect(await addressOf("file.test.")).toEqual(["192.0.2.50"]);
    expect(await addressOf("one.test.")).toEqual([]);
    const again = await api("POST", "/reload");
    expect(again.json).toMatchObject({ changed: false });
  });

  it("SIGHUP to the main PID applies an edited file", async () => {
    const file = JSON.parse(fs.readFileSync(r.configFile, "utf8")) as Record<string, unknown>;
    file["local-data"] = { addresses: { "hup.test.": "192.0.2.60" } };
    fs.writeFileSync(r.configFile, JSON.stringify(file));
    process.kill(r.pid, "SIGHUP");
    expect(await lastChangeFrom("SIGHUP")).toMatchObject({ outcome: "applied" });
    expect(await addressOf("hup.test.")).toEqual(["192.0.2.60"]);
  });

  it("a reload of an invalid file is refused and changes nothing", async () => {
    const good = fs.readFileSync(r.configFile, "utf8");
    const bad = JSON.parse(good) as Record<string, unknown>;
    bad.workers = "plenty";
    fs.writeFileSync(r.configFile, JSON.stringify(bad));
    const pids = await workerPids();
    const res = await api("POST", "/reload");
    fs.writeFileSync(r.configFile, good);
    expect(res.status).toBe(422);
    expect(res.text).toContain("/workers");
    expect(await workerPids()).toEqual(pids);
  });
});

describe("cache-gc, renewals and DNS during a rollout", () => {
  const cmdline = (pid: number) => fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");

  it("restarts cache-gc with new arguments when its settings change, leaving the workers alone", async () => {
    const workers = await workerPids();
    const gcBefore = (await r.status()).get("cache-gc")?.pid as number;
    const res = await api("PATCH", "/v1/config/cache", { body: { "garbage-collector": { interval: "7s" } } });
    expect(res.status).toBe(200);
    const gcAfter = (await r.status()).get("cache-gc");
    expect(gcAfter?.state).toBe("RUNNING");
    expect(gcAfter?.pid).not.toBe(gcBefore);
    const args = cmdline(gcAfter?.pid as number);
    expect(args[args.indexOf("-d") + 1]).toBe("7000");
    expect(await workerPids()).toEqual(workers);
  });

  it("stops cache-gc when the garbage collector is disabled", async () => {
    const res = await api("PUT", "/v1/config/cache/garbage-collector", { body: { enable: false } });
    expect(res.status).toBe(200);
    expect((await r.status()).has("cache-gc")).toBe(false);
  });

  it("/renew leaves running workers that match the config alone; /renew/force restarts them", async () => {
    const before = await workerPids();
    expect((await api("POST", "/renew")).status).toBe(200);
    expect(await workerPids()).toEqual(before);
    expect((await api("POST", "/renew/force")).status).toBe(200);
    const after = await workerPids();
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, pid] of after) expect([name, pid]).not.toEqual([name, before.get(name)]);
  });

  it("keeps answering DNS while every worker is replaced", async () => {
    let done = false;
    const answers: string[] = [];
    const querying = (async () => {
      while (!done) answers.push((await kdigAt(r.port, "hup.test.", "A")).answers.map((a) => a.data).join());
    })();
    const res = await api("POST", "/reload/force");
    done = true;
    await querying;
    expect(res.status).toBe(200);
    expect(answers.length).toBeGreaterThan(3);
    expect(new Set(answers)).toEqual(new Set(["192.0.2.60"]));
  });
});

describe("stopping", () => {
  it("POST /stop ends every process and removes the socket", async () => {
    const res = await api("POST", "/stop");
    expect(res.status).toBe(200);
    await waitFor("knot-resolver to exit", () => (r.proc.running ? undefined : true), { timeoutMs: 60_000 });
    expect(r.leftovers()).toEqual([]);
    expect(fs.existsSync(r.apiSocket)).toBe(false);
  });
});

describe("on a TCP address", () => {
  it("serves the API on management.interface", async () => {
    const port = await freePort();
    const t = await startResolver({ config: { workers: 1, management: { interface: `127.0.0.1@${port}` } } });
    try {
      const res = await apiCall(`127.0.0.1:${port}`, "GET", "/v1/config/workers");
      expect([res.status, res.json]).toEqual([200, 1]);
      expect(fs.existsSync(t.apiSocket)).toBe(false);
    } finally {
      await t.stop();
    }
  });
});
