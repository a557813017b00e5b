/**
 * A manager's membership of a fleet (the `fleet` section): its node agent (node.ts), its candidacy
 * for running rollouts (rollout.ts), and what the API does with the fleet (status, apply, rollback,
 * history). The datamodel merges and validates (sections/fleet/merge.ts); etcd I/O is here.
 */
import type { KresConfig } from "../../datamodel/config.js";
import { readConfigFiles, validateAsFrom } from "../../datamodel/load.js";
import { mergeFleetDocument, parseFleetDocument } from "../../datamodel/sections/fleet/merge.js";
import type { FleetConfig } from "../../datamodel/sections/fleet/schema.js";
import type { ConfigStore, ConfigVersion } from "../config-store.js";
import { FleetUnavailable, UnknownRevision } from "../errors.js";
import type { KresManager } from "../kres-manager.js";
import { logger } from "../logger.js";
import { unifiedDiff } from "../../utils/unified-diff.js";
import { FleetEtcd } from "./etcd.js";
import { HealthCheck } from "./health.js";
import { FleetNode } from "./node.js";
import type { HistoryEntry } from "./records.js";
import { RolloutLeader } from "./rollout.js";
import type { FleetApplyResult, FleetHistoryRow, FleetNodeRow, FleetStatus, FleetSummary } from "./types.js";

export interface FleetDeps {
  config: FleetConfig;
  /** The local config files (`-c`): what the fleet document is merged over. */
  files: readonly string[];
  store: ConfigStore;
  manager: KresManager;
  /** Where this node's API listens. */
  api: string;
}

export class Fleet {
  readonly etcd: FleetEtcd;
  readonly node: FleetNode;
  readonly leader: RolloutLeader;
  private lastNodes: { rows: FleetNodeRow[] } = { rows: [] };

  constructor(private readonly deps: FleetDeps) {
    this.etcd = new FleetEtcd(deps.config);
    const health = new HealthCheck({
      config: () => deps.store.snapshot.config,
      etag: () => deps.store.snapshot.etag,
      processes: () => deps.manager.processes(),
      lastFailure: () => deps.manager.lastFailure,
    });
    this.node = new FleetNode(deps.config.node, {
      etcd: this.etcd,
      health,
      api: deps.api,
      etag: () => deps.store.snapshot.etag,
      apply: async (revision, text) => {
        const outcome = await deps.store.change(() => this.version(text), {
          source: `fleet revision ${revision}`,
        });
        return outcome.snapshot.etag;
      },
    });
    this.leader = new RolloutLeader(deps.config.node, this.etcd);
  }

  start(): void {
    logger.notice(
      `fleet: node ${this.deps.config.node} of fleet ${this.deps.config.name}, etcd ${this.deps.config.etcd.endpoints.join(", ")}`,
    );
    this.node.start();
    this.leader.start();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.leader.stop(), this.node.stop()]);
    this.etcd.close();
  }

  /**
   * The node's config with the fleet document `text` merged over the local files, validated as one
   * (ConfigParseError, ConfigValidationError, ChangeRefused when the workers' Lua cannot be made).
   */
  version(text: string): ConfigVersion & { config: KresConfig } {
    const document = mergeFleetDocument(readConfigFiles(this.deps.files), parseFleetDocument(text));
    const config = validateAsFrom(this.deps.files, document);
    this.deps.manager.verify(config);
    return { document, config };
  }

  /** What a reload of the local files runs: the fleet document this node applied stays on top. */
  overlay(filesDocument: unknown): unknown {
    const text = this.node.appliedText;
    return text === undefined ? filesDocument : mergeFleetDocument(filesDocument, parseFleetDocument(text));
  }

  /**
   * Whether a running config differs from the files only by the fleet document applied (which a
   * reload keeps): not an unpersisted change.
   */
  accountsFor(etag: string): boolean {
    return this.node.appliedEtag === etag;
  }

  summary(): FleetSummary {
    const v = this.node.view;
    return {
      name: this.deps.config.name,
      node: this.deps.config.node,
      connected: v.connected,
      ...(v.disconnected
        ? { "disconnected-since": v.disconnected.since, "etcd-error": v.disconnected.error }
        : {}),
      "applied-revision": v.applied,
      ...(v.desired !== undefined ? { "desired-revision": v.desired } : {}),
      leader: this.leader.isLeader,
    };
  }

  /** Every node's state as etcd has it now; the last known one (and this node's own) when etcd is away. */
  async status(): Promise<FleetStatus> {
    try {
      const [desired, rollout, nodes, leaderNode] = await Promise.all([
        this.etcd.desired(),
        this.etcd.rollout(),
        this.etcd.nodes(),
        this.etcd.leader(),
      ]);
      const want = desired?.revision ?? 0;
      const rows = nodes.map((n) => ({ ...n, lag: n.revision >= want ? 0 : want - n.revision }));
      this.lastNodes = { rows };
      return {
        ...this.summary(),
        ...(desired ? { "desired-revision": desired.revision } : {}),
        source: "etcd",
        ...(leaderNode ? { "leader-node": leaderNode } : {}),
        ...(rollout ? { rollout } : {}),
        nodes: rows,
      };
    } catch (e) {
      logger.info(`fleet status: etcd unreachable (${(e as Error).message}); answering what was last known`);
      const v = this.node.view;
      return {
        ...this.summary(),
        connected: false,
        source: "last-known",
        ...(v.rollout ? { rollout: v.rollout } : {}),
        nodes: this.lastNodes.rows,
      };
    }
  }

  /**
   * Validates `text` as this node would run it; unless `dryRun`, puts it into etcd as the fleet's
   * next revision (history included), which the leader then rolls out.
   */
  async apply(text: string, dryRun: boolean, source: string): Promise<FleetApplyResult> {
    this.version(text);
    const current = await this.unavailableAs(() => this.etcd.desired());
    const diff = unifiedDiff(
      current?.text ?? "",
      text,
      `fleet config (revision ${current?.revision ?? "none"})`,
      "fleet config (new)",
    );
    const changed = current?.text !== text;
    const base = { "dry-run": dryRun, changed, diff, ...(current ? { previous: current.revision } : {}) };
    if (dryRun || !changed) return base;
    const revision = await this.put(text, { source });
    return { ...base, revision };
  }

  /**
   * Puts an earlier revision's document back as a new revision: `revision`, or else the last one
   * before the current that rolled out completely.
   */
  async rollback(revision: number | undefined, source: string): Promise<FleetApplyResult> {
    const [history, current] = await this.unavailableAs(() =>
      Promise.all([this.etcd.history(), this.etcd.desired()]),
    );
    const target =
      revision !== undefined
        ? history.find((h) => h.revision === revision)
        : [...history]
            .reverse()
            .find(
              (h) =>
                h.outcome === "applied" &&
                h.revision < (current?.revision ?? Infinity) &&
                h.text !== current?.text,
            );
    if (!target)
      throw new UnknownRevision(
        revision !== undefined
          ? `revision ${revision} is not in the fleet's history`
          : "no earlier revision rolled out completely: nothing to roll back to",
      );
    this.version(target.text);
    const diff = unifiedDiff(
      current?.text ?? "",
      target.text,
      `fleet config (revision ${current?.revision ?? "none"})`,
      `fleet config (revision ${target.revision})`,
    );
    const next = await this.put(target.text, {
      source: `${source}: rollback to revision ${target.revision}`,
      "rollback-to": target.revision,
    });
    return {
      revision: next,
      "dry-run": false,
      changed: true,
      diff,
      ...(current ? { previous: current.revision } : {}),
    };
  }

  async history(): Promise<FleetHistoryRow[]> {
    const [history, current] = await this.unavailableAs(() =>
      Promise.all([this.etcd.history(), this.etcd.desired()]),
    );
    return history
      .map(({ text: _text, ...h }) => ({ ...h, current: h.revision === current?.revision }))
      .reverse();
  }

  private async put(text: string, entry: Pick<HistoryEntry, "source" | "rollback-to">): Promise<number> {
    return this.unavailableAs(async () => {
      const revision = (await this.etcd.putDesired(text)) as number;
      await this.etcd.putHistory({
        revision,
        text,
        at: new Date().toISOString(),
        outcome: "pending",
        ...entry,
      });
      logger.notice(`fleet: revision ${revision} put (${entry.source})`);
      return revision;
    });
  }

  /** Runs an etcd operation; FleetUnavailable (503) when etcd cannot be reached. */
  private async unavailableAs<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (e) {
      throw new FleetUnavailable(`etcd cannot be reached: ${(e as Error).message}; DNS is not affected`);
    }
  }
}
