/**
 * One node of a fleet: follows the fleet document and the rollout in etcd (watched, and read again
 * every resync interval), applies a revision through the manager's normal change path once the
 * rollout allows this node to, and keeps its state under nodes/<node> on a lease. Without etcd it
 * keeps running what it applied last and says so; it catches up when etcd answers again.
 */
import type { Lease, Watcher } from "etcd3";
import { timeMillis } from "../../datamodel/types/index.js";
import { SerialQueue } from "../../utils/serial-queue.js";
import { logger } from "../logger.js";
import type { Desired, FleetEtcd } from "./etcd.js";
import type { HealthCheck } from "./health.js";
import type { NodeHealth, NodeState, Rollout } from "./records.js";

/** How often the node checks its own health (published when it changes). */
export const HEALTH_INTERVAL_MS = 1000;

export interface NodeDeps {
  etcd: FleetEtcd;
  /** Applies the fleet document of `revision` (merged over the local files); the ETag it runs. Throws to refuse. */
  apply(revision: number, text: string): Promise<string>;
  /** ETag of the running config. */
  etag(): string;
  health: HealthCheck;
  /** Where this node's API listens (shown to operators). */
  api: string;
}

/** What this node knows of the fleet, for GET / and GET /v1/fleet. */
export interface NodeView {
  connected: boolean;
  /** Since when etcd could not be reached, and why (absent while connected). */
  disconnected?: { since: string; error: string };
  /** The revision this node runs (0: none yet) and the newest one it has seen in etcd. */
  applied: number;
  desired?: number;
  rollout?: Rollout;
  failed?: NodeState["failed"];
  health?: NodeHealth;
}

/** Whether `rollout` lets `node` apply `revision` now. */
export function mayApply(rollout: Rollout | undefined, revision: number, node: string): boolean {
  if (!rollout || rollout.revision !== revision || rollout.phase === "failed") return false;
  return rollout.allowed === "all" || rollout.allowed.includes(node);
}

export class FleetNode {
  private connected = false;
  private disconnected: { since: string; error: string } | undefined = {
    since: new Date().toISOString(),
    error: "not connected yet",
  };
  private applied: { revision: number; etag: string; text: string } | undefined;
  private failed: NodeState["failed"];
  private desired: Desired | undefined;
  private rollout: Rollout | undefined;
  private health: NodeHealth | undefined;
  private lease: Lease | undefined;
  private watchers: Watcher[] = [];
  private timers: NodeJS.Timeout[] = [];
  private readonly queue = new SerialQueue();
  private pending = false;
  private stopped = false;
  private applying = false;
  private lastPublished = "";
  private checking = false;
  private watching = false;

  constructor(
    private readonly node: string,
    private readonly deps: NodeDeps,
  ) {}

  get view(): NodeView {
    return {
      connected: this.connected,
      ...(this.disconnected ? { disconnected: this.disconnected } : {}),
      applied: this.applied?.revision ?? 0,
      ...(this.desired ? { desired: this.desired.revision } : {}),
      ...(this.rollout ? { rollout: this.rollout } : {}),
      ...(this.failed ? { failed: this.failed } : {}),
      ...(this.health ? { health: this.health } : {}),
    };
  }

  /** The fleet document this node runs (what a reload of the local files keeps on top). */
  get appliedText(): string | undefined {
    return this.applied?.text;
  }

  /** ETag of the config this node made of the fleet revision it applied. */
  get appliedEtag(): string | undefined {
    return this.applied?.etag;
  }

  start(): void {
    const cfg = this.deps.etcd.cfg;
    this.timers.push(setInterval(() => this.kick(), timeMillis(cfg["resync-interval"])));
    this.timers.push(setInterval(() => void this.checkHealth(), HEALTH_INTERVAL_MS));
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    await Promise.allSettled(this.watchers.map((w) => w.cancel()));
    // The state key goes with its lease at once rather than after its TTL.
    await this.lease?.revoke().catch(() => undefined);
  }

  /** Reads etcd again soon (one read at a time; a kick during one asks for another after it). */
  kick(): void {
    if (this.stopped) return;
    if (this.pending) return;
    this.pending = true;
    this.queue
      .run(async () => {
        this.pending = false;
        await this.sync();
      })
      .catch((e: Error) => logger.error(`fleet: ${e.message}`));
  }

  /** Watches the two keys; tried again at the next read when etcd was away (the resync covers the gap). */
  private async watch(): Promise<void> {
    if (this.watching) return;
    this.watching = true;
    const { client, keys } = this.deps.etcd;
    const created = await Promise.allSettled(
      [keys.config, keys.rollout].map((k) => client.watch().key(k).create()),
    );
    const watchers = created.flatMap((c) => (c.status === "fulfilled" ? [c.value] : []));
    if (watchers.length < created.length || this.stopped) {
      await Promise.allSettled(watchers.map((w) => w.cancel()));
      this.watching = false;
      return;
    }
    for (const w of watchers) {
      w.on("put", () => this.kick());
      w.on("error", () => undefined); // etcd3 reconnects by itself
    }
    this.watchers = watchers;
  }

  private async sync(): Promise<void> {
    if (!this.watching) void this.watch();
    let desired: Desired | undefined;
    try {
      desired = await this.deps.etcd.desired();
      this.rollout = await this.deps.etcd.rollout();
      this.desired = desired;
      this.reachable();
    } catch (e) {
      this.unreachable(e as Error);
      return;
    }
    if (
      desired &&
      mayApply(this.rollout, desired.revision, this.node) &&
      this.applied?.revision !== desired.revision &&
      this.failed?.revision !== desired.revision
    )
      await this.applyRevision(desired);
    await this.checkHealth(true);
  }

  private async applyRevision(d: Desired): Promise<void> {
    logger.notice(`fleet: applying revision ${d.revision} (the rollout allows node ${this.node})`);
    this.applying = true;
    try {
      const etag = await this.deps.apply(d.revision, d.text);
      this.applied = { revision: d.revision, etag, text: d.text };
      this.failed = undefined;
      this.deps.health.reset();
      logger.notice(`fleet: revision ${d.revision} applied (ETag ${etag})`);
    } catch (e) {
      const error = (e as Error).message;
      this.failed = { revision: d.revision, error, at: new Date().toISOString() };
      logger.error(`fleet: revision ${d.revision} refused on this node: ${error}`);
    } finally {
      this.applying = false;
    }
  }

  /** Checks the node's health; publishes the state when it changed (or always, `force`). */
  private async checkHealth(force = false): Promise<void> {
    if (this.stopped || ((this.applying || this.checking) && !force)) return;
    this.checking = true;
    try {
      await this.publish(force);
    } finally {
      this.checking = false;
    }
  }

  private async publish(force: boolean): Promise<void> {
    try {
      this.health = await this.deps.health.check(this.applied?.etag);
    } catch (e) {
      this.health = {
        ok: false,
        problems: [`cannot check: ${(e as Error).message}`],
        at: new Date().toISOString(),
      };
    }
    const state: NodeState = {
      node: this.node,
      revision: this.applied?.revision ?? 0,
      etag: this.deps.etag(),
      health: this.health,
      ...(this.failed ? { failed: this.failed } : {}),
      api: this.deps.api,
      updated: new Date().toISOString(),
    };
    const { updated: _u, health, ...rest } = state;
    const fingerprint = JSON.stringify({ ...rest, ok: health.ok, problems: health.problems });
    if (!force && fingerprint === this.lastPublished && this.connected) return;
    try {
      await this.deps.etcd.putNode(await this.leased(), state);
      this.lastPublished = fingerprint;
      this.reachable();
    } catch (e) {
      this.lastPublished = "";
      this.unreachable(e as Error);
    }
  }

  /** The lease the state key lives on, granted again after it was lost (etcd away longer than its TTL). */
  private async leased(): Promise<Lease> {
    if (this.lease) return this.lease;
    const ttl = Math.max(1, Math.round(timeMillis(this.deps.etcd.cfg["lease-ttl"]) / 1000));
    const lease = this.deps.etcd.client.lease(ttl);
    lease.on("lost", () => {
      if (this.lease === lease) this.lease = undefined;
      lease.release();
      this.lastPublished = "";
      this.kick();
    });
    try {
      await lease.grant();
    } catch (e) {
      lease.release();
      throw e;
    }
    this.lease = lease;
    return lease;
  }

  private reachable(): void {
    if (!this.connected && this.disconnected && this.disconnected.error !== "not connected yet")
      logger.notice(`fleet: etcd reachable again (unreachable since ${this.disconnected.since})`);
    this.connected = true;
    this.disconnected = undefined;
  }

  private unreachable(e: Error): void {
    if (this.connected)
      logger.warning(
        `fleet: etcd unreachable (${e.message}); DNS goes on with revision ${this.applied?.revision ?? "none (local files)"}`,
      );
    if (this.connected || !this.disconnected)
      this.disconnected = { since: new Date().toISOString(), error: e.message };
    else this.disconnected.error = e.message;
    this.connected = false;
  }
}
