/**
 * The history of configurations against a real resolver (supervisord, manager, kresd 5.6 workers,
 * the real kresctl and kdig): every applied configuration is recorded, the history survives killing
 * everything and a fresh start, a manager restarted after a crash adds no duplicate, a restore brings
 * an old configuration back through the canary and the rolling restart (DNS answers as it did), and
 * a crash-loop rollback shows in it.
 */
import { jest } from "@jest/globals";
import { KRESCTL, kdigAt, run, waitFor } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { Resolvers, type Resolver } from "../../harness/resolver.js";
import type { HistoryEntry } from "../../lib/manager/history.js";

jest.setTimeout(240_000);

const resolvers = new Resolvers();
afterAll(() => resolvers.stopAll());

interface Status {
  pid: number;
  etag: string;
  "last-rollback"?: { from: string; to: string };
}

const status = async (r: Resolver): Promise<Status> =>
  (await apiCall(r.apiSocket, "GET", "/")).json as Status;
const quoted = (tag: string) => `"${tag}"`;
const bare = (tag: string) => tag.replace(/"/g, "");

async function history(r: Resolver, query = ""): Promise<HistoryEntry[]> {
  const res = await apiCall(r.apiSocket, "GET", `/v1/history${query}`);
  expect(res.status).toBe(200);
  return (res.json as { entries: HistoryEntry[] }).entries;
}

/** PIDs of the running kresd workers by id. */
async function workers(r: Resolver): Promise<Record<string, number>> {
  const rows = (await apiCall(r.apiSocket, "GET", "/processes/kresd")).json as { id: string; pid: number }[];
  return Object.fromEntries(rows.map((p) => [p.id, p.pid]));
}

/** The A records kdig gets for `name` from the resolver. */
async function addresses(r: Resolver, name: string): Promise<string[]> {
  return (await kdigAt(r.port, name, "A")).answers.filter((a) => a.type === "A").map((a) => a.data);
}

/** Canaries that accepted a configuration, as the manager logged them. */
const canaries = (r: Resolver) =>
  (r.log.match(/canary \S+ \(pid \d+\) accepted the new configuration/g) ?? []).length;

const records = (address: string) => `history.test. 300 A ${address}\n`;

describe("a resolver's history", () => {
  let r: Resolver;
  let start: HistoryEntry;
  let change: HistoryEntry;

  beforeAll(async () => {
    r = await resolvers.start({ config: { workers: 2, "local-data": { records: records("192.0.2.10") } } });
  });

  it("starts with the configuration the resolver started with", async () => {
    const entries = await history(r);
    expect(entries).toEqual([
      {
        id: "000001",
        etag: quoted((await status(r)).etag),
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        source: "start-up",
        kind: "start",
        outcome: "applied",
      },
    ]);
    start = entries[0]!;
  });

  it("records an API change, newest first, with the ETag it replaced", async () => {
    const put = await apiCall(r.apiSocket, "PUT", "/v1/config/local-data/records", {
      body: JSON.stringify(records("192.0.2.20")),
    });
    expect(put.status).toBe(200);
    expect(await addresses(r, "history.test.")).toEqual(["192.0.2.20"]);
    const entries = await history(r);
    expect(entries.map((e) => e.id)).toEqual(["000002", "000001"]);
    change = entries[0]!;
    expect(change).toMatchObject({
      etag: put.headers.etag,
      source: "PUT /v1/config/local-data/records",
      kind: "api",
      outcome: "applied",
      previous: start.etag,
    });
  });

  it("adds nothing when the manager alone is killed and resumes the running configuration", async () => {
    const before = await status(r);
    process.kill(before.pid, "SIGKILL");
    await waitFor(
      "a new manager answering",
      async () => {
        const s = await status(r).catch(() => undefined);
        return s && s.pid !== before.pid ? s : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    expect(await history(r)).toEqual([change, start]);
  });

  it("survives killing everything; a fresh start from the files is recorded after it", async () => {
    r.killNow(); // supervisord, manager, workers: SIGKILL, nothing written on the way out
    r = resolvers.keep(await r.again());
    const entries = await history(r);
    expect(entries.slice(1)).toEqual([change, start]);
    // The files say the start's configuration (the change was not persisted).
    expect(entries[0]).toMatchObject({
      id: "000003",
      kind: "start",
      etag: start.etag,
      previous: change.etag,
    });
    expect(await addresses(r, "history.test.")).toEqual(["192.0.2.10"]);
  });

  it("pages with limit and before", async () => {
    const first = await apiCall(r.apiSocket, "GET", "/v1/history?limit=2");
    const page = first.json as { entries: HistoryEntry[]; next: string };
    expect([page.entries.map((e) => e.id), page.next]).toEqual([["000003", "000002"], "000002"]);
    expect(await history(r, `?limit=2&before=${page.next}`)).toEqual([start]);
  });

  it("refuses a restore whose If-Match is stale: 412, no worker moves", async () => {
    const pids = await workers(r);
    const res = await apiCall(r.apiSocket, "POST", `/v1/history/${bare(change.etag)}/restore`, {
      headers: { "if-match": '"stale"' },
    });
    expect(res.status).toBe(412);
    expect(await workers(r)).toEqual(pids);
    expect(await history(r, "?limit=1")).toEqual([expect.objectContaining({ id: "000003" })]);
  });

  it("kresctl history restore brings the change back through a canary and new workers; DNS answers as then", async () => {
    const pids = await workers(r);
    const canariesBefore = canaries(r);
    const diff = await run(KRESCTL, ["-s", r.apiSocket, "history", "diff", change.etag]);
    expect(diff.stdout).toContain(
      "-    history.test. 300 A 192.0.2.20\n+    history.test. 300 A 192.0.2.10\n",
    );

    // A dry run first: the plan names the entry's ETag, and nothing moves.
    const dry = await apiCall(r.apiSocket, "POST", `/v1/history/${bare(change.etag)}/restore?dry-run=true`);
    expect(dry.status).toBe(200);
    expect(dry.json).toMatchObject({ etag: bare(start.etag), "new-etag": bare(change.etag), changed: true });
    expect(await workers(r)).toEqual(pids);
    expect(quoted((await status(r)).etag)).toBe(start.etag);
    expect(await history(r, "?limit=1")).toEqual([expect.objectContaining({ id: "000003" })]);

    const restore = await run(KRESCTL, ["-s", r.apiSocket, "history", "restore", "--yes", change.etag], {
      timeoutMs: 120_000,
    });
    expect({ code: restore.code, stderr: restore.stderr }).toEqual({ code: 0, stderr: "" });
    expect(restore.stdout).toBe(`restored 000002: running ETag ${change.etag}\n`);

    expect(quoted((await status(r)).etag)).toBe(change.etag);
    expect(canaries(r)).toBe(canariesBefore + 1);
    const after = await workers(r);
    expect(Object.keys(after).sort()).toEqual(Object.keys(pids).sort());
    for (const id of Object.keys(pids)) expect(after[id]).not.toBe(pids[id]);
    expect(await addresses(r, "history.test.")).toEqual(["192.0.2.20"]);

    const [newest] = await history(r, "?limit=1");
    expect(newest).toMatchObject({
      id: "000004",
      etag: change.etag,
      kind: "restore",
      source: `POST /v1/history/${bare(change.etag)}/restore`,
      message: "restored from history entry 000002",
      previous: start.etag,
    });
    // The newest entry of an ETag is the one shown.
    const shown = await apiCall(r.apiSocket, "GET", `/v1/history/${encodeURIComponent(change.etag)}`);
    expect(shown.json).toMatchObject({ id: "000004", config: expect.objectContaining({ workers: 2 }) });
  });

  it("records a crash-loop rollback, and marks the configuration it gave up", async () => {
    // Lua that starts (READY: the canary takes it) and exits two seconds later, on every worker.
    const dying = `${OFFLINE_LUA}\nevent.after(2 * sec, function() os.exit(1) end)\n`;
    const put = await apiCall(r.apiSocket, "PUT", "/v1/config/lua/script", { body: JSON.stringify(dying) });
    expect(put.status).toBe(200);
    const given = bare(put.headers.etag ?? "");
    const rolledBack = await waitFor(
      "the rollback",
      async () => {
        const last = (await status(r))["last-rollback"];
        return last?.from === given ? last : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const [rollback, dead] = await history(r, "?limit=2");
    expect(rollback).toMatchObject({
      kind: "rollback",
      source: "rollback",
      outcome: "applied",
      // The last configuration that ran through its probation.
      etag: quoted(rolledBack.to),
      previous: quoted(given),
      message: expect.stringMatching(/worker failures within \d+ s of the change/),
    });
    expect(dead).toMatchObject({
      kind: "api",
      source: "PUT /v1/config/lua/script",
      etag: quoted(given),
      outcome: "rolled-back",
      message: rollback!.message,
    });
  });
});
