/**
 * Fleet nodes for tests and benchmarks: whole knot-resolvers (resolver.ts) whose config joins a
 * fleet on an etcd cluster (etcd.ts), with timings short enough for a test; and the calls on a
 * node's API that the fleet tests and the bench share.
 */
import { apiCall } from "./api.js";
import { waitFor } from "./procs.js";
import type { Resolver, Resolvers } from "./resolver.js";

export interface FleetNodeOptions {
  fleet: string;
  node: string;
  endpoints: readonly string[];
  /** The canary's soak time (default "2s"). */
  soak?: string;
  waveSize?: number;
  workers?: number;
}

/** The `fleet` section of a test node: short lease, resync and soak. */
export function fleetSection(o: FleetNodeOptions): Record<string, unknown> {
  return {
    name: o.fleet,
    node: o.node,
    etcd: { endpoints: [...o.endpoints] },
    rollout: { "soak-time": o.soak ?? "2s", "wave-size": o.waveSize ?? 1, "apply-timeout": "60s" },
    "lease-ttl": "3s",
    "resync-interval": "1s",
  };
}

/** Starts one fleet node (a whole resolver) and keeps it in `resolvers`. */
export function startFleetNode(resolvers: Resolvers, o: FleetNodeOptions): Promise<Resolver> {
  return resolvers.start({ config: { workers: o.workers ?? 1, fleet: fleetSection(o) } });
}

export interface FleetSummaryJson {
  connected: boolean;
  "applied-revision": number;
  "desired-revision"?: number;
  "disconnected-since"?: string;
  leader: boolean;
}

/** GET / on a node: its fleet summary. */
export async function fleetSummary(socket: string): Promise<FleetSummaryJson> {
  const r = await apiCall(socket, "GET", "/", { timeoutMs: 10_000 });
  const fleet = (r.json as { fleet?: FleetSummaryJson } | undefined)?.fleet;
  if (r.status !== 200 || !fleet) throw new Error(`GET / answered ${r.status} without a fleet: ${r.text}`);
  return fleet;
}

/** PUT /v1/fleet/config on a node; the new revision. */
export async function fleetApply(socket: string, text: string): Promise<number> {
  const r = await apiCall(socket, "PUT", "/v1/fleet/config", {
    body: text,
    headers: { "content-type": "application/yaml" },
    timeoutMs: 30_000,
  });
  const revision = (r.json as { revision?: number } | undefined)?.revision;
  if (r.status !== 200 || typeof revision !== "number")
    throw new Error(`PUT /v1/fleet/config answered ${r.status}: ${r.text}`);
  return revision;
}

/** Waits until every node runs `revision` (GET / applied-revision); the time each got there (Date.now()). */
export async function waitApplied(
  sockets: readonly string[],
  revision: number,
  timeoutMs = 90_000,
): Promise<number[]> {
  const at: (number | undefined)[] = sockets.map(() => undefined);
  await waitFor(
    `every node on revision ${revision}`,
    async () => {
      await Promise.all(
        sockets.map(async (s, i) => {
          if (at[i] !== undefined) return;
          const f = await fleetSummary(s).catch(() => undefined);
          if (f && f["applied-revision"] >= revision) at[i] = Date.now();
        }),
      );
      return at.every((t) => t !== undefined) ? (at as number[]) : undefined;
    },
    { timeoutMs, intervalMs: 100 },
  );
  return at as number[];
}
