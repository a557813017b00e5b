/**
 * The fleet's etcd, through the `etcd3` client: one connection per manager, every key of keys.ts
 * read and written here, nothing else of the fleet talks to etcd directly.
 */
import * as fs from "node:fs";
import { Etcd3, type IOptions, type Lease } from "etcd3";
import type { FleetConfig } from "../../datamodel/sections/fleet/schema.js";
import { fleetKeys, type FleetKeys } from "./keys.js";
import {
  historyEntrySchema,
  nodeStateSchema,
  readRecord,
  rolloutSchema,
  type HistoryEntry,
  type NodeState,
  type Rollout,
} from "./records.js";

/** How long one etcd call may take: an unreachable cluster must not hold anything for long. */
export const ETCD_CALL_TIMEOUT_MS = 3000;

/** The fleet document at one revision. */
export interface Desired {
  revision: number;
  text: string;
}

export function etcdOptions(cfg: FleetConfig): IOptions {
  const e = cfg.etcd;
  const read = (f: string | undefined) => (f === undefined ? undefined : fs.readFileSync(f));
  const ca = read(e["ca-file"]);
  return {
    hosts: e.endpoints,
    dialTimeout: ETCD_CALL_TIMEOUT_MS,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ETCD_CALL_TIMEOUT_MS }),
    ...(ca || e["cert-file"]
      ? {
          credentials: {
            rootCertificate: ca ?? Buffer.alloc(0),
            privateKey: read(e["key-file"]),
            certChain: read(e["cert-file"]),
          },
        }
      : {}),
    ...(e.username !== undefined ? { auth: { username: e.username, password: e.password ?? "" } } : {}),
  };
}

export class FleetEtcd {
  readonly client: Etcd3;
  readonly keys: FleetKeys;

  constructor(readonly cfg: FleetConfig) {
    this.client = new Etcd3(etcdOptions(cfg));
    this.keys = fleetKeys(cfg.name);
  }

  /** The fleet document and its revision (its key's mod revision); undefined before the first apply. */
  async desired(): Promise<Desired | undefined> {
    const r = await this.client.get(this.keys.config).exec();
    const kv = r.kvs[0];
    return kv ? { revision: Number(kv.mod_revision), text: kv.value.toString("utf8") } : undefined;
  }

  /** Puts a new fleet document; its revision. With `ifRevision`, only if the document is still that one. */
  async putDesired(text: string, ifRevision?: number): Promise<number | undefined> {
    if (ifRevision === undefined) {
      const r = await this.client.put(this.keys.config).value(text).exec();
      return Number(r.header.revision);
    }
    const r = await this.client
      .if(this.keys.config, "Mod", "==", ifRevision)
      .then(this.client.put(this.keys.config).value(text))
      .commit();
    return r.succeeded ? Number(r.header.revision) : undefined;
  }

  async rollout(): Promise<Rollout | undefined> {
    return readRecord(rolloutSchema, this.keys.rollout, await this.client.get(this.keys.rollout).string());
  }

  async putRollout(r: Rollout): Promise<void> {
    await this.client.put(this.keys.rollout).value(JSON.stringify(r)).exec();
  }

  /** Every node with a live lease, by name. */
  async nodes(): Promise<NodeState[]> {
    const all = await this.client.getAll().prefix(this.keys.nodes).strings();
    return Object.entries(all)
      .map(([key, text]) => readRecord(nodeStateSchema, key, text))
      .filter((s): s is NodeState => s !== undefined)
      .sort((a, b) => a.node.localeCompare(b.node, "en", { numeric: true }));
  }

  async putNode(lease: Lease, state: NodeState): Promise<void> {
    await lease.put(this.keys.node(state.node)).value(JSON.stringify(state)).exec();
  }

  async history(): Promise<HistoryEntry[]> {
    const all = await this.client.getAll().prefix(this.keys.history).strings();
    return Object.entries(all)
      .map(([key, text]) => readRecord(historyEntrySchema, key, text))
      .filter((h): h is HistoryEntry => h !== undefined)
      .sort((a, b) => a.revision - b.revision);
  }

  async historyOf(revision: number): Promise<HistoryEntry | undefined> {
    const key = this.keys.historyOf(revision);
    return readRecord(historyEntrySchema, key, await this.client.get(key).string());
  }

  async putHistory(entry: HistoryEntry): Promise<void> {
    await this.client.put(this.keys.historyOf(entry.revision)).value(JSON.stringify(entry)).exec();
  }

  /**
   * Writes `entry` only where no entry of its revision exists: the leader's stand-in for a revision
   * put without one never overwrites the entry of the node that put it (written right after).
   */
  async putHistoryIfAbsent(entry: HistoryEntry): Promise<void> {
    const key = this.keys.historyOf(entry.revision);
    await this.client
      .if(key, "Create", "==", 0)
      .then(this.client.put(key).value(JSON.stringify(entry)))
      .commit();
  }

  /** Changes what became of a revision (no-op when it has no history entry). */
  async settle(revision: number, outcome: HistoryEntry["outcome"], reason?: string): Promise<void> {
    const entry = await this.historyOf(revision);
    if (entry) await this.putHistory({ ...entry, outcome, ...(reason !== undefined ? { reason } : {}) });
  }

  /** The value the election's leader proclaimed (its node name), if any. */
  async leader(): Promise<string | undefined> {
    return this.client.election(this.keys.election).leader();
  }

  close(): void {
    this.client.close();
  }
}
