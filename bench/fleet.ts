/**
 * A fleet rollout against applying the same change node by node by hand (issue 21). Prints tables;
 * not a test. Run: npm run build && node dist/bench/fleet.js
 *
 * A real three-member etcd cluster and three whole resolvers (2 workers each) in one fleet, soak time
 * 0 s (so the figure is the rollout's own cost; a real soak adds itself once), first with waves of
 * one node, then (a fleet of its own, the nodes started again) waves of two. Each round:
 * - local: PUT /v1/config/local-data on each node in turn (canary + rolling restart each); the
 *   sum of the three answers' times is what a script doing the nodes one after the other takes;
 * - fleet: PUT /v1/fleet/config on one node, then GET / on every node every 20 ms until each runs
 *   the new revision: the time until the last one does.
 */
import { performance } from "node:perf_hooks";
import { apiCall } from "../harness/api.js";
import { startEtcdCluster, type EtcdCluster } from "../harness/etcd.js";
import { fleetSection, fleetSummary } from "../harness/fleet.js";
import { sleep } from "../harness/procs.js";
import {
  fmtMs,
  isMain,
  median,
  printTable,
  progressOf,
  runStandalone,
  type BenchOutcome,
} from "../harness/report.js";
import { BenchResolver } from "../harness/resolver.js";

const NODES = ["n1", "n2", "n3"];
const WORKERS = 2;
const ROUNDS = 3;
const progress = progressOf("fleet");

interface Round {
  waveSize: number;
  n: number;
  local: number[];
  /** From PUT /v1/fleet/config until each node ran the revision (ms). */
  fleet: number[];
}

async function localApply(node: BenchResolver, addr: string): Promise<number> {
  const t0 = performance.now();
  const r = await node.api("PUT", "/v1/config/local-data", { addresses: { "bench.fleet.test.": addr } });
  if (r.status !== 200) throw new Error(`local PUT answered ${r.status}: ${r.text}`);
  return performance.now() - t0;
}

async function fleetApply(nodes: BenchResolver[], addr: string): Promise<number[]> {
  const text = `local-data:\n  addresses:\n    bench.fleet.test.: ${addr}\n`;
  const t0 = performance.now();
  const r = await apiCall(nodes[0]!.apiSocket, "PUT", "/v1/fleet/config", {
    body: text,
    headers: { "content-type": "application/yaml" },
  });
  const revision = (r.json as { revision?: number } | undefined)?.revision;
  if (r.status !== 200 || revision === undefined)
    throw new Error(`fleet PUT answered ${r.status}: ${r.text}`);
  const at: (number | undefined)[] = nodes.map(() => undefined);
  const deadline = t0 + 120_000;
  while (at.some((t) => t === undefined)) {
    if (performance.now() > deadline) throw new Error(`revision ${revision} not on every node within 120 s`);
    await Promise.all(
      nodes.map(async (n, i) => {
        if (at[i] !== undefined) return;
        const s = await fleetSummary(n.apiSocket).catch(() => undefined);
        if (s && s["applied-revision"] >= revision) at[i] = performance.now() - t0;
      }),
    );
    await sleep(20);
  }
  return at as number[];
}

const WAVE_SIZES = [1, 2];

/** Three fresh nodes in fleet `fleet` with waves of `waveSize`; the rounds on them. */
async function roundsOf(etcd: EtcdCluster, waveSize: number): Promise<Round[]> {
  const nodes: BenchResolver[] = [];
  const rounds: Round[] = [];
  try {
    for (const node of NODES)
      nodes.push(
        await BenchResolver.start({
          workers: WORKERS,
          name: `fleet-${node}`,
          config: {
            fleet: fleetSection({
              fleet: `bench-w${waveSize}`,
              node,
              endpoints: etcd.endpoints,
              soak: "0s",
              waveSize,
            }),
          },
        }),
      );
    // Every node registered before the first rollout, so each round's waves take all three.
    for (let i = 0; i < 100; i++) {
      const s = await apiCall(nodes[0]!.apiSocket, "GET", "/v1/fleet");
      if ((s.json as { nodes?: unknown[] } | undefined)?.nodes?.length === NODES.length) break;
      await sleep(100);
    }
    for (let n = 1; n <= ROUNDS; n++) {
      const local: number[] = [];
      for (const node of nodes) local.push(await localApply(node, `192.0.2.${n}`));
      const fleet = await fleetApply(nodes, `198.51.100.${n}`);
      rounds.push({ waveSize, n, local, fleet });
      progress(
        `waves of ${waveSize}, round ${n}: local sum ${fmtMs(sum(local), 0)} ms, fleet ${fmtMs(Math.max(...fleet), 0)} ms`,
      );
    }
  } finally {
    for (const n of nodes.reverse()) await n.stop();
  }
  return rounds;
}

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export async function run(): Promise<BenchOutcome> {
  let etcd: EtcdCluster | undefined;
  const rounds: Round[] = [];
  let error: string | undefined;
  try {
    progress("starting a 3-member etcd cluster");
    etcd = await startEtcdCluster(3);
    for (const waveSize of WAVE_SIZES) rounds.push(...(await roundsOf(etcd, waveSize)));
  } catch (e) {
    error = (e as Error).message;
    progress(`FAILED: ${error}`);
  } finally {
    await etcd?.stopAll();
  }

  console.log(`\n3 nodes × ${WORKERS} workers, soak 0 s; ms`);
  printTable([
    [
      "waves of",
      "round",
      "local n1",
      "local n2",
      "local n3",
      "local sum",
      "fleet: n1 ran it",
      "n2",
      "n3",
      "fleet last / local sum",
    ],
    ...rounds.map((r) => [
      String(r.waveSize),
      String(r.n),
      ...r.local.map((x) => fmtMs(x, 0)),
      fmtMs(sum(r.local), 0),
      ...r.fleet.map((x) => fmtMs(x, 0)),
      (Math.max(...r.fleet) / sum(r.local)).toFixed(2),
    ]),
  ]);
  const medians = WAVE_SIZES.map((w) => {
    const of = rounds.filter((r) => r.waveSize === w);
    return {
      w,
      n: of.length,
      local: median(of.map((r) => sum(r.local))),
      fleet: median(of.map((r) => Math.max(...r.fleet))),
    };
  });
  return {
    ok: error === undefined && rounds.length === ROUNDS * WAVE_SIZES.length,
    headlines: medians.map((m) => ({
      figure: `fleet: apply → last of 3 nodes (waves of ${m.w}) vs sum of local applies, median ms`,
      value: m.n ? `${fmtMs(m.fleet, 0)} vs ${fmtMs(m.local, 0)}` : "FAILED",
    })),
  };
}

if (isMain(import.meta.url)) await runStandalone(run);
