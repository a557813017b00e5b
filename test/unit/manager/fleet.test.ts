/** The fleet's pure parts: who may apply what, the canary, the key layout, records read back, the health check. */
import * as dgram from "node:dgram";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { HealthCheck } from "../../../lib/manager/fleet/health.js";
import { fleetKeys } from "../../../lib/manager/fleet/keys.js";
import { mayApply } from "../../../lib/manager/fleet/node.js";
import { probeTarget } from "../../../lib/manager/fleet/probe.js";
import {
  nodeStateSchema,
  readRecord,
  type NodeState,
  type Rollout,
} from "../../../lib/manager/fleet/records.js";
import { pickCanary } from "../../../lib/manager/fleet/rollout.js";
import type { ManagedProcess } from "../../../lib/manager/kres-manager.js";
import { logger } from "../../../lib/manager/logger.js";

logger.silent = true;

const rollout = (over: Partial<Rollout>): Rollout => ({
  revision: 10,
  phase: "canary",
  allowed: ["n1"],
  wave: 0,
  leader: "n2",
  started: "t",
  updated: "t",
  ...over,
});

describe("mayApply: a node applies a revision only when the rollout names it for that revision", () => {
  it("lets the canary apply, nobody else yet", () => {
    const r = rollout({});
    expect(mayApply(r, 10, "n1")).toBe(true);
    expect(mayApply(r, 10, "n2")).toBe(false);
  });

  it("never applies a revision the rollout is not about, nor one whose rollout failed", () => {
    expect(mayApply(rollout({}), 11, "n1")).toBe(false);
    expect(mayApply(rollout({ phase: "failed" }), 10, "n1")).toBe(false);
    expect(mayApply(undefined, 10, "n1")).toBe(false);
  });

  it("lets every node (late ones too) apply a revision that rolled out", () => {
    expect(mayApply(rollout({ phase: "done", allowed: "all" }), 10, "n9")).toBe(true);
  });
});

const state = (node: string, ok: boolean): NodeState => ({
  node,
  revision: 3,
  etag: "e",
  health: { ok, problems: ok ? [] : ["x"], at: "t" },
  updated: "t",
});

it("picks the first healthy node by name as the canary, else the first node", () => {
  expect(pickCanary([state("n1", false), state("n2", true), state("n3", true)])).toBe("n2");
  expect(pickCanary([state("n1", false), state("n2", false)])).toBe("n1");
});

it("keeps a fleet's keys under /knot-resolver/<fleet>/, history in revision order", () => {
  const k = fleetKeys("edge");
  expect([k.config, k.rollout, k.node("n1")]).toEqual([
    "/knot-resolver/edge/config",
    "/knot-resolver/edge/rollout",
    "/knot-resolver/edge/nodes/n1",
  ]);
  expect(k.historyOf(9) < k.historyOf(10)).toBe(true);
});

it("reads back what another node wrote only when it has the expected shape", () => {
  expect(readRecord(nodeStateSchema, "k", JSON.stringify(state("n1", true)))).toEqual(state("n1", true));
  expect(readRecord(nodeStateSchema, "k", "{not json")).toBeUndefined();
  expect(readRecord(nodeStateSchema, "k", JSON.stringify({ node: "n1" }))).toBeUndefined();
  expect(readRecord(nodeStateSchema, "k", null)).toBeUndefined();
});

describe("the node's health", () => {
  let server: dgram.Socket;
  let port: number;
  let answering = true;
  beforeAll(async () => {
    server = dgram.createSocket("udp4");
    // A resolver in miniature: echoes the query with QR set.
    server.on("message", (msg, from) => {
      if (!answering) return;
      const answer = Buffer.from(msg);
      answer[2] = answer[2]! | 0x80;
      server.send(answer, from.port, from.address);
    });
    await new Promise<void>((r) => server.bind(0, "127.0.0.1", () => r()));
    port = server.address().port;
  });
  afterAll(() => server.close());

  const cfg = (): KresConfig =>
    validateConfig(
      { workers: 2, network: { listen: [{ interface: `127.0.0.1@${port}` }] } },
      { strict: false },
    );
  const worker = (id: number, over: Partial<ManagedProcess> = {}): ManagedProcess => ({
    name: `kresd:kresd${id}`,
    kind: "kresd",
    id,
    state: "running",
    pid: 100 + id,
    startedAt: 0,
    ...over,
  });

  function check(processes: ManagedProcess[], failure?: { at: number; what: string }, etag = "e1") {
    return new HealthCheck({
      config: cfg,
      etag: () => etag,
      processes: async () => processes,
      lastFailure: () => failure,
    });
  }

  it("probes the first plain DNS listener", () => {
    expect(probeTarget(cfg())).toEqual({ addr: "127.0.0.1", port });
  });

  it("is ok with every worker running, an answer to the probe and the applied config running", async () => {
    expect(await check([worker(0), worker(1)]).check("e1")).toMatchObject({ ok: true, problems: [] });
  });

  it("names each problem: a worker down or unresponsive, a failure since the revision, another config, no answer", async () => {
    const h = check(
      [worker(0), worker(1, { unresponsive: { count: 3, since: 0 } as never })],
      { at: Date.now() + 1, what: "kresd:kresd1 exited with code 1" },
      "e2",
    );
    answering = false;
    const r = await h.check("e1");
    answering = true;
    expect(r.ok).toBe(false);
    expect(r.problems).toEqual([
      "1 of 2 workers running and responsive",
      "a worker failed since this revision was applied: kresd:kresd1 exited with code 1",
      expect.stringMatching(/^no answer to a probe query on 127\.0\.0\.1@\d+ within 1000 ms$/),
      expect.stringMatching(
        /^runs another configuration \(ETag e2\) than the fleet revision it applied \(ETag e1\)/,
      ),
    ]);
  });

  it("forgets failures from before the revision was applied", async () => {
    const h = check([worker(0), worker(1)], { at: Date.now() - 10_000, what: "old" });
    expect((await h.check()).ok).toBe(true);
  });
});
