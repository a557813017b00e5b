/**
 * A fleet of three whole resolvers (own ports, rundirs, supervisord, kresd) sharing one config in a
 * real three-member etcd cluster on loopback, rolled out node by node by the managers themselves,
 * under dnsperf load on every node. One cluster and one fleet for the whole file: the tests run in
 * order, each starting from the revision the one before left.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { jest } from "@jest/globals";
import { KRESCTL, kdigAt, run, tmpDir, waitFor } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { startDnsperf, type DnsperfRun } from "../../harness/dnsperf.js";
import { startEtcdCluster, type EtcdCluster } from "../../harness/etcd.js";
import { fleetApply, fleetSummary, startFleetNode, waitApplied } from "../../harness/fleet.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { Resolvers, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(240_000);

const FLEET = "test-fleet";
const NAMES = ["n1", "n2", "n3"];
// Long enough for a worker that dies a little after starting to be seen during the soak.
const SOAK_MS = 6000;

let etcd: EtcdCluster;
const resolvers = new Resolvers();
let nodes: Resolver[] = [];
/** Nodes started by the tests themselves (after the first three). */
const lateNodes: Resolver[] = [];
const lateSockets = () => lateNodes.map((n) => n.apiSocket);

beforeAll(async () => {
  etcd = await startEtcdCluster(3);
  nodes = await Promise.all(
    NAMES.map((node) =>
      startFleetNode(resolvers, {
        fleet: FLEET,
        node,
        endpoints: etcd.endpoints,
        soak: `${SOAK_MS / 1000}s`,
      }),
    ),
  );
}, 180_000);

afterAll(async () => {
  await resolvers.stopAll();
  await etcd?.stopAll();
});

const sockets = () => nodes.map((n) => n.apiSocket);

/** A fleet document that gives `name` the address `addr` (a change every worker must restart for). */
const doc = (name: string, addr: string) => `local-data:\n  addresses:\n    ${name}: ${addr}\n`;

async function answer(node: Resolver, name: string): Promise<string[]> {
  return (await kdigAt(node.port, name, "A")).answers.map((a) => a.data);
}

async function workerPids(node: Resolver): Promise<number[]> {
  const st = await node.status();
  return [...st.entries()]
    .filter(([name, row]) => name.startsWith("kresd:") && row.state === "RUNNING")
    .map(([, row]) => row.pid as number)
    .sort();
}

/** dnsperf on every node for `seconds`, names the offline resolver answers itself. */
function loadAll(seconds: number): DnsperfRun[] {
  return nodes.map((n) =>
    startDnsperf({
      port: n.port,
      names: ["localhost.", "fleet.test."],
      qps: 200,
      seconds,
      timeoutSeconds: 2,
    }),
  );
}

async function expectNoneLost(runs: readonly DnsperfRun[]): Promise<void> {
  const results = await Promise.all(runs.map((r) => r.done));
  for (const r of results) {
    expect(r.sent).toBeGreaterThan(500);
    expect(r.lost).toBe(0);
  }
}

interface StatusJson {
  source: string;
  connected: boolean;
  "leader-node"?: string;
  rollout?: { revision: number; phase: string; canary?: string; failure?: { node: string; reason: string } };
  nodes: { node: string; revision: number; lag: number; health: { ok: boolean } }[];
}

async function fleetStatus(node: Resolver): Promise<StatusJson> {
  const r = await apiCall(node.apiSocket, "GET", "/v1/fleet", { timeoutMs: 15_000 });
  expect(r.status).toBe(200);
  return r.json as StatusJson;
}

interface HistoryRow {
  revision: number;
  outcome: string;
  automatic?: boolean;
  "rollback-to"?: number;
  current: boolean;
}

async function history(node: Resolver): Promise<HistoryRow[]> {
  const r = await apiCall(node.apiSocket, "GET", "/v1/fleet/history", { timeoutMs: 15_000 });
  expect(r.status).toBe(200);
  return r.json as HistoryRow[];
}

it("every node joins the fleet, one of them leads, each on its own files until a first revision", async () => {
  await waitFor(
    "three nodes in etcd and a leader",
    async () => {
      const s = await fleetStatus(nodes[0]!);
      return s.nodes.length === 3 && s["leader-node"] ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  const summaries = await Promise.all(sockets().map(fleetSummary));
  expect(summaries.map((s) => s.connected)).toEqual([true, true, true]);
  expect(summaries.map((s) => s["applied-revision"])).toEqual([0, 0, 0]);
  expect(summaries.filter((s) => s.leader)).toHaveLength(1);
});

it("rolls a revision out canary first, soaks, then one wave at a time, losing no query on any node", async () => {
  const pidsBefore = await Promise.all(nodes.map(workerPids));
  const load = loadAll(20);
  await new Promise((r) => setTimeout(r, 1000));
  const revision = await fleetApply(nodes[1]!.apiSocket, doc("fleet.test.", "192.0.2.1"));
  const at = await waitApplied(sockets(), revision);
  // n1 is the canary (the first healthy node by name); waves of one node: n2, then n3.
  expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(SOAK_MS - 200);
  expect(at[2]!).toBeGreaterThan(at[1]!);
  await expectNoneLost(load);

  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.1"]);
  const pidsAfter = await Promise.all(nodes.map(workerPids));
  pidsAfter.forEach((pids, i) => expect(pids).not.toEqual(pidsBefore[i]));
  // The fleet document is not a change the files lack: a reload keeps it on top of them.
  const root = await apiCall(nodes[0]!.apiSocket, "GET", "/");
  expect(root.json).toMatchObject({ "unpersisted-changes": false, fleet: { "applied-revision": revision } });
  const reload = await apiCall(nodes[0]!.apiSocket, "POST", "/reload");
  expect(reload.json).toMatchObject({ changed: false });
  expect(await answer(nodes[0]!, "fleet.test.")).toEqual(["192.0.2.1"]);
  const s = await fleetStatus(nodes[2]!);
  expect(s.rollout).toMatchObject({ revision, phase: "done", canary: "n1" });
  expect(s.nodes.map((n) => [n.node, n.revision, n.lag, n.health.ok])).toEqual([
    ["n1", revision, 0, true],
    ["n2", revision, 0, true],
    ["n3", revision, 0, true],
  ]);
});

it("a revision that breaks the canary stops there: the others keep their workers, the fleet rolls back", async () => {
  const before = await fleetSummary(nodes[0]!.apiSocket);
  const pidsBefore = await Promise.all(nodes.map(workerPids));
  const load = loadAll(15);
  // kresd refuses to start on Lua that fails: the canary's local canary worker never gets READY.
  const broken = await fleetApply(
    nodes[0]!.apiSocket,
    `${doc("fleet.test.", "192.0.2.66")}lua:\n  script: ${JSON.stringify(`${OFFLINE_LUA}\nerror('broken by the fleet')`)}\n`,
  );
  const back = await waitFor(
    "the automatic rollback rolled out",
    async () => {
      const h = await history(nodes[2]!);
      const rb = h.find((e) => e.automatic && e.revision > broken);
      return rb?.outcome === "applied" ? rb : undefined;
    },
    { timeoutMs: 90_000, intervalMs: 250 },
  );
  expect(back["rollback-to"]).toBe(before["applied-revision"]);
  expect((await history(nodes[1]!)).find((e) => e.revision === broken)?.outcome).toBe("failed");
  await waitApplied(sockets(), back.revision);
  await expectNoneLost(load);

  // Nobody ever ran the broken revision: same workers everywhere, the canary's included.
  expect(await Promise.all(nodes.map(workerPids))).toEqual(pidsBefore);
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.1"]);
  expect(nodes[0]!.log).toMatch(/fleet: revision \d+ refused on this node/);
  expect(nodes[1]!.log).not.toMatch(new RegExp(`fleet: applying revision ${broken}\\b`));
  expect(nodes[2]!.log).not.toMatch(new RegExp(`fleet: applying revision ${broken}\\b`));
});

it("a revision whose workers die after starting fails the canary's soak: the others keep their workers, the fleet rolls back", async () => {
  const pidsBefore = await Promise.all(nodes.map(workerPids));
  const load = loadAll(20);
  // kresd takes it (READY at once), then every worker of it exits 2.5 s after it started.
  const dying = await fleetApply(
    nodes[1]!.apiSocket,
    `${doc("fleet.test.", "192.0.2.77")}lua:\n  script: ${JSON.stringify(`${OFFLINE_LUA}\nevent.after(2500, function() os.exit(3) end)`)}\n`,
  );
  const back = await waitFor(
    "the automatic rollback rolled out",
    async () => {
      const h = await history(nodes[0]!);
      const rb = h.find((e) => e.automatic && e.revision > dying);
      return rb?.outcome === "applied" ? rb : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 250 },
  );
  const failed = (await history(nodes[0]!)).find((e) => e.revision === dying);
  // Taken (it was applied), then seen unhealthy: a worker failure since the revision, or the node's own rollback.
  expect(failed).toMatchObject({ outcome: "failed", reason: expect.stringMatching(/^n1: .*unhealthy/) });
  await waitApplied(sockets(), back.revision);
  // The canary's workers crashed by design (what the canary is for): only the others must lose nothing.
  await expectNoneLost(load.slice(1));
  await load[0]!.done;

  const pidsAfter = await Promise.all(nodes.map(workerPids));
  expect(pidsAfter[1]).toEqual(pidsBefore[1]);
  expect(pidsAfter[2]).toEqual(pidsBefore[2]);
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.1"]);
  // The canary did run it: its workers were replaced, then replaced again on the way back.
  expect(nodes[0]!.log).toMatch(new RegExp(`fleet: revision ${dying} applied`));
  expect(pidsAfter[0]).not.toEqual(pidsBefore[0]);
});

it("kill -9 of one etcd member during a rollout changes nothing", async () => {
  const load = loadAll(20);
  const revision = await fleetApply(nodes[2]!.apiSocket, doc("fleet.test.", "192.0.2.2"));
  await waitFor(
    "the canary applied",
    async () =>
      (await fleetSummary(nodes[0]!.apiSocket))["applied-revision"] >= revision ? true : undefined,
    {
      timeoutMs: 60_000,
      intervalMs: 100,
    },
  );
  await etcd.kill(0);
  await waitApplied(sockets(), revision);
  await expectNoneLost(load);
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.2"]);
  expect((await fleetStatus(nodes[1]!)).rollout).toMatchObject({ revision, phase: "done" });
  etcd.start(0);
  await etcd.waitHealthy();
});

it("with every etcd member stopped, every node keeps answering, says so, and resumes when etcd is back", async () => {
  await etcd.stopAll();
  const load = loadAll(10);
  const summaries = await waitFor(
    "every node notices",
    async () => {
      const s = await Promise.all(sockets().map(fleetSummary));
      return s.every((f) => !f.connected) ? s : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );
  for (const s of summaries) expect(s["disconnected-since"]).toEqual(expect.any(String));
  const status = await fleetStatus(nodes[0]!);
  expect(status).toMatchObject({ source: "last-known", connected: false });
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.2"]);
  const refused = await apiCall(nodes[0]!.apiSocket, "PUT", "/v1/fleet/config", {
    body: doc("x.test.", "192.0.2.9"),
  });
  expect(refused.status).toBe(503);
  await expectNoneLost(load);

  await etcd.startAll();
  await waitFor(
    "every node reconnects",
    async () =>
      (await Promise.all(sockets().map(fleetSummary))).every((f) => f.connected) ? true : undefined,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
  const revision = await fleetApply(nodes[0]!.apiSocket, doc("fleet.test.", "192.0.2.3"));
  await waitApplied(sockets(), revision);
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.3"]);
});

it("a node started later catches up to the current revision", async () => {
  const current = (await fleetSummary(nodes[0]!.apiSocket))["applied-revision"];
  const late = await startFleetNode(resolvers, {
    fleet: FLEET,
    node: "n4",
    endpoints: etcd.endpoints,
    soak: `${SOAK_MS / 1000}s`,
  });
  lateNodes.push(late);
  await waitApplied([late.apiSocket], current, 60_000);
  expect(await answer(late, "fleet.test.")).toEqual(["192.0.2.3"]);
  const s = await fleetStatus(late);
  expect(s.nodes.map((n) => n.node)).toEqual(["n1", "n2", "n3", "n4"]);
});

it("kresctl fleet: a dry run changes nothing and names node-local keys; rollback REV returns every node to it", async () => {
  const socket = nodes[0]!.apiSocket;
  const kresctl = (...args: string[]) => run(KRESCTL, ["-s", socket, "fleet", ...args]);
  const dir = tmpDir("krm-fleet-docs-");
  const localKey = path.join(dir, "local.yaml");
  fs.writeFileSync(localKey, `rundir: /tmp\n${doc("fleet.test.", "192.0.2.99")}`);
  const before = (await fleetSummary(socket))["desired-revision"];

  const refused = await kresctl("apply", "--dry-run", localKey);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/\/rundir: node-local/);
  const good = path.join(dir, "good.yaml");
  fs.writeFileSync(good, doc("fleet.test.", "192.0.2.99"));
  const dry = await kresctl("apply", "--dry-run", good);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain("+    fleet.test.: 192.0.2.99");
  expect(dry.stdout).toContain("dry run: valid on this node");
  expect((await fleetSummary(socket))["desired-revision"]).toBe(before);

  // Back to the first revision that rolled out (192.0.2.1), by number.
  const first = (await history(nodes[0]!)).filter((h) => h.outcome === "applied").at(-1)!;
  const rb = await kresctl("rollback", String(first.revision));
  expect(rb.code).toBe(0);
  const revision = Number(/revision (\d+) puts/.exec(rb.stdout)?.[1]);
  expect(revision).toBeGreaterThan(before!);
  await waitApplied([...sockets(), ...lateSockets()], revision);
  for (const n of nodes) expect(await answer(n, "fleet.test.")).toEqual(["192.0.2.1"]);
  const h = await kresctl("history");
  expect(h.stdout).toMatch(
    new RegExp(`^${revision}\\*\\s+\\S+\\s+applied\\s+.*rollback to revision ${first.revision}`, "m"),
  );
  const status = JSON.parse((await kresctl("status", "--json")).stdout) as StatusJson;
  expect(status.nodes.every((n) => n.revision === revision && n.lag === 0)).toBe(true);
});
