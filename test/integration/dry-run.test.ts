/**
 * Dry runs against a real resolver (supervisord, manager, kresd 5.6 workers, cache-gc): a dry run
 * changes no PID, no file and no ETag; its plan names exactly the processes the real change then
 * restarts, starts and stops (seen through their PIDs) and the ETag it gives; a canary dry run of
 * Lua that kills kresd reports the failure and leaves everything as it was.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import type { ChangePlan } from "../../lib/datamodel/change-plan.js";
import { KRESCTL, kdigAt, run, type RunResult } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { RUNNING_STATE_FILE } from "../../lib/manager/running-state.js";
import { Resolvers, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(300_000);

const resolvers = new Resolvers();
afterAll(() => resolvers.stopAll());

let r: Resolver;
beforeAll(async () => {
  r = await resolvers.start({
    config: { workers: 2, nsid: "before", "local-data": { addresses: { "dry.test.": "192.0.2.7" } } },
  });
});

const CANARY = "kresd:kresd256";

/** PIDs of what runs, by supervisord name (the manager and the canary's slot aside). */
async function pids(): Promise<Map<string, number>> {
  const rows = [...(await r.status())].filter(
    ([name, row]) => name !== "manager" && name !== CANARY && row.state === "RUNNING",
  );
  return new Map(rows.map(([name, row]) => [name, row.pid as number]));
}

/** What moved between two PID snapshots, in a plan's words (names sorted). */
function observed(before: Map<string, number>, after: Map<string, number>): ChangePlan["processes"] {
  const names = [...new Set([...before.keys(), ...after.keys()])].sort();
  const is = (f: (b?: number, a?: number) => boolean) => names.filter((n) => f(before.get(n), after.get(n)));
  return {
    restart: is((b, a) => b !== undefined && a !== undefined && a !== b),
    start: is((b, a) => b === undefined && a !== undefined),
    stop: is((b, a) => b !== undefined && a === undefined),
    unchanged: is((b, a) => b !== undefined && a === b),
  };
}

const sorted = (p: ChangePlan["processes"]) =>
  Object.fromEntries(Object.entries(p).map(([k, v]) => [k, [...v].sort()]));

/** Everything a dry run must leave alone, as seen from outside. */
async function world() {
  const status = (await apiCall(r.apiSocket, "GET", "/")).json as { etag: string; "last-change"?: unknown };
  const canaryLua = path.join(r.rundir, "kresd256.lua");
  return {
    pids: await pids(),
    etag: status.etag,
    lastChange: status["last-change"],
    file: fs.readFileSync(r.configFile, "utf8"),
    fileStat: (({ ino, mtimeMs }) => ({ ino, mtimeMs }))(fs.statSync(r.configFile)),
    dirFiles: fs.readdirSync(path.dirname(r.configFile)).sort(),
    // What a restarted manager would resume: only applied changes are saved there.
    runningState: fs.readFileSync(path.join(r.rundir, RUNNING_STATE_FILE), "utf8"),
    canaryLua: fs.existsSync(canaryLua) ? fs.readFileSync(canaryLua, "utf8") : undefined,
    // Not running. (A canary that failed stays FATAL in supervisorctl status, without a PID, as
    // after a refused change: supervisord has no way back to STOPPED but a start.)
    canaryUp: ["RUNNING", "STARTING", "BACKOFF", "STOPPING"].includes(
      (await r.status()).get(CANARY)?.state ?? "",
    ),
    processes: ((await apiCall(r.apiSocket, "GET", "/processes")).json as { id: string; pid: number }[])
      .map((p) => `${p.id} ${p.pid}`)
      .sort(),
  };
}

const body = (value: unknown) => ({
  body: JSON.stringify(value),
  headers: { "content-type": "application/json" },
});

/**
 * A dry run of `method url` (with `value`), then the change itself: the dry run leaves the world
 * as it was and answers under the current ETag; the change then moves exactly what the plan says.
 */
async function planThenChange(method: string, url: string, value?: unknown): Promise<ChangePlan> {
  const before = await world();
  const opts = value === undefined ? {} : body(value);
  const dry = await apiCall(r.apiSocket, method, `${url}${url.includes("?") ? "&" : "?"}dry-run=true`, opts);
  expect(dry.status).toBe(200);
  expect(dry.headers.etag).toBe(`"${before.etag}"`);
  const plan = dry.json as ChangePlan;
  expect(plan.etag).toBe(before.etag);
  expect(await world()).toEqual(before);

  const real = await apiCall(r.apiSocket, method, url, opts);
  expect(real.status).toBe(200);
  expect(real.headers.etag).toBe(`"${plan["new-etag"]}"`);
  expect(sorted(plan.processes)).toEqual(observed(before.pids, await pids()));
  return plan;
}

describe("a dry run, then the change itself", () => {
  it("of the NSID: every worker restarts, cache-gc stays; the Lua's diff says so", async () => {
    const plan = await planThenChange("PUT", "/v1/config/nsid", "after");
    expect(plan.changes).toEqual([{ pointer: "/nsid", op: "replace", old: "before", new: "after" }]);
    expect(plan.processes.restart.sort()).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    expect(plan.processes.unchanged).toEqual(["cache-gc"]);
    expect(plan["lua-diff"]).toMatch(/^-nsid\.name\("before"\)$/m);
    expect(plan["lua-diff"]).toMatch(/^\+nsid\.name\("after"\)$/m);
  });

  it("of the worker count, up then down: one worker started, then stopped, the others untouched", async () => {
    const up = await planThenChange("PUT", "/v1/config/workers", 3);
    expect(up.processes).toMatchObject({ restart: [], start: ["kresd:kresd2"], stop: [] });
    const down = await planThenChange("PUT", "/v1/config/workers", 2);
    expect(down.processes).toMatchObject({ restart: [], start: [], stop: ["kresd:kresd2"] });
  });

  it("of the garbage collector: off stops cache-gc, on starts it, new settings restart it", async () => {
    const off = await planThenChange("PATCH", "/v1/config/cache", { "garbage-collector": { enable: false } });
    expect(off.processes).toMatchObject({ restart: [], start: [], stop: ["cache-gc"] });
    const on = await planThenChange("DELETE", "/v1/config/cache/garbage-collector");
    expect(on.processes).toMatchObject({ restart: [], start: ["cache-gc"], stop: [] });
    const settings = await planThenChange("PUT", "/v1/config/cache/garbage-collector", { interval: "5s" });
    expect(settings.processes).toMatchObject({ restart: ["cache-gc"], start: [], stop: [] });
    expect(settings["lua-changed"]).toBe(false);
  });

  it("of a value already there: nothing to do, and nothing is done", async () => {
    const plan = await planThenChange("PUT", "/v1/config/workers", 2);
    expect(plan).toMatchObject({ changed: false, changes: [], "yaml-diff": "", "lua-diff": "" });
    expect(plan.processes).toMatchObject({ restart: [], start: [], stop: [] });
  });
});

describe("a dry run the change would refuse", () => {
  it("answers what the change answers (422 for an invalid value, 412 for a stale If-Match)", async () => {
    const before = await world();
    for (const [url, opts] of [
      ["/v1/config/workers", body("lots")],
      ["/v1/config/workers", { ...body(3), headers: { ...body(3).headers, "if-match": '"stale"' } }],
    ] as const) {
      const dry = await apiCall(r.apiSocket, "PUT", `${url}?dry-run=true`, opts);
      const real = await apiCall(r.apiSocket, "PUT", url, opts);
      expect(dry.status).toBeGreaterThanOrEqual(400);
      expect([dry.status, dry.json]).toEqual([real.status, real.json]);
    }
    expect((await world()).pids).toEqual(before.pids);
    expect((await world()).etag).toBe(before.etag);
  });
});

describe("a dry run with a canary", () => {
  it("of Lua that kills kresd reports that the canary did not come up, and leaves everything as it was", async () => {
    const before = await world();
    const dying = `${OFFLINE_LUA}\nos.exit(3)\n`;
    const dry = await apiCall(r.apiSocket, "PUT", "/v1/config/lua/script?dry-run=canary", body(dying));
    expect(dry.status).toBe(200);
    const plan = dry.json as ChangePlan;
    expect(plan["dry-run"]).toBe("canary");
    expect(plan.canary).toEqual({
      ok: false,
      message: expect.stringMatching(/refused by a canary kresd/),
    });
    expect(plan.processes.restart.sort()).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    expect(await world()).toEqual(before);
    // The workers still answer as before.
    expect((await kdigAt(r.port, "dry.test.", "A")).answers.map((a) => a.data)).toEqual(["192.0.2.7"]);
  });

  it("of a good change reports that the canary came up; it is stopped again and nothing else moved", async () => {
    const before = await world();
    const dry = await apiCall(r.apiSocket, "PUT", "/v1/config/nsid?dry-run=canary", body("canary-ok"));
    expect(dry.status).toBe(200);
    expect((dry.json as ChangePlan).canary).toEqual({ ok: true, message: expect.stringMatching(/came up/) });
    expect(await world()).toEqual(before);
  });
});

describe("kresctl --dry-run", () => {
  const kresctl = (...args: string[]): Promise<RunResult> =>
    run(KRESCTL, ["-s", r.apiSocket, ...args], { timeoutMs: 120_000 });

  it("reload --dry-run prints what a reload would undo (a plain, uncoloured plan), then reload does it", async () => {
    // The running NSID came from the API, not the file: a reload brings the file's back.
    const before = await world();
    const dry = await kresctl("reload", "--dry-run");
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain("Dry run: nothing was changed.");
    expect(dry.stdout).toContain('  ~ /nsid: "after" → "before"');
    // The plan's process lines, as printed, are what the reload then does.
    const listed = (what: string) =>
      (new RegExp(`^ {2}${what} +(.*)$`, "m").exec(dry.stdout)?.[1] ?? "")
        .split(" ")
        .filter((n) => n !== "-");
    expect(listed("restart")).toEqual(expect.arrayContaining(["kresd:kresd0", "kresd:kresd1"]));
    expect(dry.stdout).not.toContain("\u001b[");
    expect(await world()).toEqual(before);

    const real = await kresctl("reload", "--yes");
    expect(real.code).toBe(0);
    const moved = observed(before.pids, await pids());
    for (const what of ["restart", "start", "stop", "unchanged"] as const)
      expect([what, listed(what).sort()]).toEqual([what, moved[what]]);
  });

  it("config set --dry-run=canary --json prints the plan as the manager sent it", async () => {
    const dry = await kresctl("config", "set", "--dry-run=canary", "--json", "/workers", "3");
    expect(dry.code).toBe(0);
    const plan = JSON.parse(dry.stdout) as ChangePlan;
    expect(plan).toMatchObject({
      "dry-run": "canary",
      canary: { ok: true },
      processes: { start: ["kresd:kresd2"] },
    });
    expect((await pids()).has("kresd:kresd2")).toBe(false);
  });
});
