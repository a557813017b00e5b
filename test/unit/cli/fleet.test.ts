/** kresctl fleet apply|status|history|rollback against a throwaway manager: the requests and what it prints. */
import * as fs from "node:fs";
import * as path from "node:path";
import { tmpDir } from "../../../harness/tmp.js";
import { FakeManager, kresctl, type Routes } from "./fake-manager.js";

const STATUS = {
  name: "edge",
  node: "n2",
  connected: true,
  "applied-revision": 7,
  "desired-revision": 9,
  leader: false,
  source: "etcd",
  "leader-node": "n1",
  rollout: { revision: 9, phase: "waves", canary: "n1", wave: 1, allowed: ["n1", "n2"] },
  nodes: [
    {
      node: "n1",
      revision: 9,
      lag: 0,
      etag: "a",
      health: { ok: true, problems: [], at: "t" },
      updated: "t1",
    },
    {
      node: "n2",
      revision: 7,
      lag: 2,
      etag: "b",
      health: { ok: false, problems: ["1 of 2 workers running and responsive"], at: "t" },
      updated: "t2",
    },
  ],
};

const routes: Routes = {
  "GET /v1/fleet": { json: STATUS },
  "GET /v1/fleet/history": {
    json: [
      { revision: 9, at: "t9", source: "PUT /v1/fleet/config", outcome: "pending", current: true },
      { revision: 7, at: "t7", source: "PUT /v1/fleet/config", outcome: "applied", current: false },
    ],
  },
  "PUT /v1/fleet/config": (seen) => ({
    json: {
      "dry-run": false,
      changed: true,
      previous: 9,
      revision: 10,
      diff: `--- old\n+++ new\n@@ -1 +1 @@\n-workers: 1\n+${seen.body}`,
    },
  }),
  "PUT /v1/fleet/config?dry-run=true": {
    json: { "dry-run": true, changed: true, previous: 9, diff: "--- a\n+++ b\n@@ -1 +1 @@\n-x\n+y\n" },
  },
  "POST /v1/fleet/rollback": {
    json: { "dry-run": false, changed: true, previous: 10, revision: 11, diff: "" },
  },
  "POST /v1/fleet/rollback?revision=7": {
    json: { "dry-run": false, changed: true, previous: 10, revision: 12, diff: "" },
  },
  "POST /v1/fleet/rollback?revision=99": {
    status: 404,
    json: { error: "revision 99 is not in the fleet's history" },
  },
};

let fake: FakeManager;
beforeAll(async () => {
  fake = await FakeManager.start(routes);
});
afterAll(() => fake.stop());
beforeEach(() => fake.seen.splice(0));

const api = (...args: string[]) => kresctl(["-s", fake.socket, ...args]);

describe("kresctl fleet", () => {
  it("apply FILE sends the file as YAML text and prints the diff and the new revision", async () => {
    const file = path.join(tmpDir("kr-fleet-cli-"), "fleet.yaml");
    fs.writeFileSync(file, "workers: 2\n");
    const r = await api("fleet", "apply", file);
    expect(r.code).toBe(0);
    expect(fake.seen.map((s) => [s.method, s.url, s.body])).toEqual([
      ["PUT", "/v1/fleet/config", "workers: 2\n"],
    ]);
    expect(r.out).toContain("+workers: 2");
    expect(r.out).toContain("revision 10 put; the elected manager rolls it out");
  });

  it("apply --dry-run only asks for validation", async () => {
    const r = await kresctl(["-s", fake.socket, "fleet", "apply", "--dry-run", "-"], {
      stdin: "workers: 3\n",
    });
    expect(r.code).toBe(0);
    expect(fake.seen.map((s) => [s.url, s.body])).toEqual([
      ["/v1/fleet/config?dry-run=true", "workers: 3\n"],
    ]);
    expect(r.out).toContain("dry run: valid on this node; would become a new revision");
  });

  it("status prints the rollout and one line per node with lag and health; --json the answer", async () => {
    const r = await api("fleet", "status");
    expect(r.out).toContain("fleet edge, seen from node n2: revision 9 wanted, leader n1");
    expect(r.out).toContain("rollout of revision 9: waves, canary n1, wave 1");
    expect(r.out).toMatch(/^n1\s+9\s+0\s+ok\s+t1$/m);
    expect(r.out).toMatch(/^n2\s+7\s+2\s+unhealthy: 1 of 2 workers running and responsive\s+t2$/m);
    expect(JSON.parse((await api("fleet", "status", "--json")).out)).toEqual(STATUS);
  });

  it("history lists the revisions, the current one marked", async () => {
    const r = await api("fleet", "history");
    expect(r.out).toMatch(/^9\*\s+t9\s+pending\s+PUT \/v1\/fleet\/config$/m);
    expect(r.out).toMatch(/^7\s+t7\s+applied/m);
  });

  it("rollback [REV] asks the manager to put a revision back; an unknown one is the manager's error", async () => {
    expect((await api("fleet", "rollback")).out).toContain("revision 11 puts the earlier revision back");
    expect((await api("fleet", "rollback", "7")).out).toContain("revision 12");
    const unknown = await api("fleet", "rollback", "99");
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("revision 99 is not in the fleet's history");
    const bad = await api("fleet", "rollback", "0");
    expect(bad.code).toBe(1);
    expect(bad.err).toContain("REVISION must be a revision number");
  });
});
