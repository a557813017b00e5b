/**
 * A real etcd cluster on loopback for tests and benchmarks: Debian's /usr/bin/etcd (3.4), one
 * process group per member (GroupProcess: stopped by the harness's safety net after the test file or
 * at exit), free client and peer ports (ports.ts), data directories in one temporary directory.
 *
 *   const etcd = await startEtcdCluster(3);
 *   etcd.endpoints;            // ["http://127.0.0.1:…", …]
 *   await etcd.kill(1);        // kill -9 of one member; etcd.start(1) brings it back on its data
 *   await etcd.stopAll(); await etcd.startAll();
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort } from "./ports.js";
import { GroupProcess, sleep, waitFor } from "./procs.js";
import { run } from "./repo.js";
import { tmpDir } from "./tmp.js";

export const ETCD = "/usr/bin/etcd";
export const ETCDCTL = "/usr/bin/etcdctl";

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc?: GroupProcess;
}

export class EtcdCluster {
  private constructor(
    readonly dir: string,
    private readonly members: Member[],
  ) {}

  /** Allocates ports and directories for `size` members; starts nothing. */
  static async create(size: number): Promise<EtcdCluster> {
    const dir = tmpDir("krm-etcd-");
    const members: Member[] = [];
    for (let i = 0; i < size; i++) {
      const dataDir = path.join(dir, `m${i}`);
      fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      members.push({ name: `m${i}`, clientPort: await freePort(), peerPort: await freePort(), dataDir });
    }
    return new EtcdCluster(dir, members);
  }

  get size(): number {
    return this.members.length;
  }

  /** Every member's client URL, in member order. */
  get endpoints(): string[] {
    return this.members.map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  /** The members' client URLs that run now. */
  get runningEndpoints(): string[] {
    return this.members.filter((m) => m.proc?.running).map((m) => `http://127.0.0.1:${m.clientPort}`);
  }

  private member(i: number): Member {
    const m = this.members[i];
    if (!m) throw new RangeError(`no etcd member ${i} (the cluster has ${this.size})`);
    return m;
  }

  /** Starts member `i` (on its data directory, so a restarted member rejoins with what it had). */
  start(i: number): void {
    const m = this.member(i);
    if (m.proc?.running) return;
    const cluster = this.members.map((p) => `${p.name}=http://127.0.0.1:${p.peerPort}`).join(",");
    const client = `http://127.0.0.1:${m.clientPort}`;
    const peer = `http://127.0.0.1:${m.peerPort}`;
    m.proc = new GroupProcess(
      ETCD,
      [
        ["--name", m.name],
        ["--data-dir", m.dataDir],
        ["--listen-client-urls", client],
        ["--advertise-client-urls", client],
        ["--listen-peer-urls", peer],
        ["--initial-advertise-peer-urls", peer],
        ["--initial-cluster", cluster],
        ["--initial-cluster-state", "new"],
        ["--initial-cluster-token", path.basename(this.dir)],
        // Loopback: short heartbeats elect a new leader quickly after a kill.
        ["--heartbeat-interval", "50"],
        ["--election-timeout", "500"],
        ["--log-level", "warn"],
        ["--logger", "zap"],
      ].flat(),
      { name: `etcd ${m.name}` },
    );
  }

  /** Starts every member that is not running and waits until the cluster answers. */
  async startAll(timeoutMs = 30_000): Promise<void> {
    for (let i = 0; i < this.size; i++) this.start(i);
    await this.waitHealthy(timeoutMs);
  }

  /** SIGKILL to member `i` (kill -9), waiting until it is gone. */
  async kill(i: number): Promise<void> {
    const m = this.member(i);
    if (!m.proc?.running) return;
    await m.proc.stop({ signal: "SIGKILL" });
  }

  /** SIGTERM to member `i` and wait. */
  async stop(i: number): Promise<void> {
    const m = this.member(i);
    if (!m.proc?.running) return;
    await m.proc.stop({ timeoutMs: 10_000 });
  }

  /** Stops every member (SIGTERM, then SIGKILL). */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((_m, i) => this.stop(i)));
  }

  /** Whether member `i` runs. */
  running(i: number): boolean {
    return this.member(i).proc?.running === true;
  }

  /** `etcdctl` against the running members; rejects on a non-zero exit. */
  async etcdctl(...args: string[]): Promise<string> {
    const r = await run(ETCDCTL, [`--endpoints=${this.runningEndpoints.join(",")}`, ...args], {
      env: { ...process.env, ETCDCTL_API: "3" },
      timeoutMs: 15_000,
    });
    if (r.code !== 0) throw new Error(`etcdctl ${args.join(" ")}: ${r.stderr.trim() || r.stdout.trim()}`);
    return r.stdout;
  }

  /** Waits until a write goes through (a quorum answers). */
  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    let last = "";
    await waitFor(
      "etcd cluster healthy",
      async () => {
        try {
          await this.etcdctl("put", "/krm-test/health", String(Date.now()));
          return true;
        } catch (e) {
          last = (e as Error).message;
          await sleep(100);
          return undefined;
        }
      },
      {
        timeoutMs,
        intervalMs: 100,
        abort: () => {
          const dead = this.members.find((m) => m.proc && !m.proc.running && m.proc.exitStatus?.code);
          return dead?.proc ? `${dead.proc.describe()} (${last})` : undefined;
        },
      },
    );
  }

  /** Everything member `i` printed. */
  log(i: number): string {
    const p = this.member(i).proc;
    return p ? p.stdout + p.stderr : "";
  }
}

/** A cluster of `size` members on loopback, started and healthy. */
export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const cluster = await EtcdCluster.create(size);
  await cluster.startAll();
  return cluster;
}
