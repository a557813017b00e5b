/**
 * The staged rollout, run by whichever manager of the fleet etcd's election chose (etcd3 Election):
 * a new revision goes to one canary node, which must apply it and stay healthy for the soak time,
 * then to waves of at most wave-size nodes; a node that fails ends the rollout and the leader puts
 * the last revision that rolled out completely back as a new revision (which then rolls out the
 * same way; nodes that never left it do not restart). Nodes learn what they may apply from the
 * rollout key only (node.ts `mayApply`).
 */
import type { Campaign } from "etcd3";
import { timeMillis } from "../../datamodel/types/index.js";
import { logger } from "../logger.js";
import type { Desired, FleetEtcd } from "./etcd.js";
import type { NodeState, Rollout } from "./records.js";

/** How often the leader reads the nodes' states while it waits for them. */
export const POLL_MS = 250;

/** How long a node that runs the revision may stay unhealthy before it counts as failed. */
export const HEALTH_GRACE_MS = 5000;

/** The rollout cannot go on here: another revision came, or this manager is no longer the leader. */
class Interrupted extends Error {}

type Reached = { ok: true } | { ok: false; reason: string; vanished?: boolean };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class RolloutLeader {
  private campaign: Campaign | undefined;
  private leading = false;
  private running = false;
  private again = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly node: string,
    private readonly etcd: FleetEtcd,
  ) {}

  get isLeader(): boolean {
    return this.leading;
  }

  start(): void {
    this.stand();
    this.timer = setInterval(() => this.kick(), timeMillis(this.etcd.cfg["resync-interval"]));
    this.etcd.client
      .watch()
      .key(this.etcd.keys.config)
      .create()
      .then((w) => {
        w.on("put", () => this.kick());
        w.on("error", () => undefined);
        if (this.stopped) void w.cancel();
        else this.stopWatch = () => void w.cancel();
      })
      .catch(() => undefined);
  }
  private stopWatch = () => {};

  async stop(): Promise<void> {
    this.stopped = true;
    this.leading = false;
    clearInterval(this.timer);
    this.stopWatch();
    await this.campaign?.resign().catch(() => undefined);
  }

  /** Campaigns for leadership; again after an error (etcd gone, lease lost). */
  private stand(): void {
    if (this.stopped) return;
    const ttl = Math.max(2, Math.round(timeMillis(this.etcd.cfg["lease-ttl"]) / 1000));
    const campaign = this.etcd.client.election(this.etcd.keys.election, ttl).campaign(this.node);
    this.campaign = campaign;
    campaign.on("elected", () => {
      logger.notice(`fleet: this node (${this.node}) leads the rollouts`);
      this.leading = true;
      this.kick();
    });
    campaign.on("error", (e: Error) => {
      if (this.leading) logger.warning(`fleet: leadership lost: ${e.message}`);
      this.leading = false;
      if (this.campaign !== campaign) return;
      this.campaign = undefined;
      void campaign.resign().catch(() => undefined);
      setTimeout(() => this.stand(), 1000).unref();
    });
  }

  /** Looks for work: a revision newer than the rollout's, or a rollout left half done by a former leader. */
  kick(): void {
    if (!this.leading || this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.step();
        } while (this.again && this.leading);
      } finally {
        this.running = false;
      }
    })();
  }

  private async step(): Promise<void> {
    let desired: Desired | undefined;
    let current: Rollout | undefined;
    try {
      desired = await this.etcd.desired();
      current = await this.etcd.rollout();
    } catch (e) {
      logger.warning(`fleet: rollouts wait for etcd: ${(e as Error).message}`);
      return;
    }
    if (!desired) return;
    if (current && current.revision > desired.revision) return;
    if (current?.revision === desired.revision && (current.phase === "done" || current.phase === "failed"))
      return;
    try {
      await this.rollOut(desired, current);
      this.again = true; // a newer revision may have come meanwhile
    } catch (e) {
      if (e instanceof Interrupted)
        logger.notice(`fleet: rollout of revision ${desired.revision}: ${e.message}`);
      else logger.warning(`fleet: rollout of revision ${desired.revision} paused: ${(e as Error).message}`);
    }
  }

  /** Throws Interrupted when this rollout must not go on here. */
  private async assertCurrent(revision: number): Promise<void> {
    if (!this.leading || this.stopped) throw new Interrupted("this node no longer leads the rollouts");
    const d = await this.etcd.desired();
    if (d && d.revision !== revision) {
      await this.etcd.settle(revision, "superseded", `revision ${d.revision} came before it rolled out`);
      throw new Interrupted(`superseded by revision ${d.revision}`);
    }
  }

  private async rollOut(desired: Desired, previous: Rollout | undefined): Promise<void> {
    const R = desired.revision;
    const cfg = this.etcd.cfg.rollout;
    const resumed = previous?.revision === R;
    const lastGood = previous?.phase === "done" && !resumed ? previous.revision : previous?.["last-good"];
    const now = () => new Date().toISOString();
    let ro: Rollout = resumed
      ? { ...previous, leader: this.node, updated: now() }
      : {
          revision: R,
          phase: "canary",
          allowed: [],
          wave: 0,
          leader: this.node,
          started: now(),
          updated: now(),
          ...(lastGood !== undefined ? { "last-good": lastGood } : {}),
        };
    const write = async (next: Rollout) => {
      await this.assertCurrent(R);
      ro = { ...next, updated: now() };
      await this.etcd.putRollout(ro);
    };
    logger.notice(
      `fleet: ${resumed ? "resuming" : "starting"} the rollout of revision ${R} (phase ${ro.phase})`,
    );
    // A revision put straight into etcd (etcdctl) gets its history entry here: a rollback needs its text.
    if (!(await this.etcd.historyOf(R)))
      await this.etcd.putHistoryIfAbsent({
        revision: R,
        text: desired.text,
        at: now(),
        source: "put into etcd directly",
        outcome: "pending",
      });

    if (ro.phase === "canary" || ro.phase === "soak") {
      const nodes = await this.etcd.nodes();
      if (nodes.length === 0) throw new Error("no node of the fleet is alive");
      const canary = ro.canary && nodes.some((n) => n.node === ro.canary) ? ro.canary : pickCanary(nodes);
      await write({ ...ro, phase: "canary", canary, allowed: [canary], wave: 0 });
      const applied = await this.reach(canary, R);
      if (!applied.ok) return this.fail(ro, canary, applied.reason);
      await write({ ...ro, phase: "soak" });
      const soaked = await this.soak(canary, R, timeMillis(cfg["soak-time"]));
      if (!soaked.ok) return this.fail(ro, canary, soaked.reason);
      await write({ ...ro, phase: "waves" });
    }

    // Nodes that joined meanwhile get their turn in a later wave.
    for (;;) {
      const allowed = ro.allowed === "all" ? [] : ro.allowed;
      const rest = (await this.etcd.nodes()).map((n) => n.node).filter((n) => !allowed.includes(n));
      if (rest.length === 0) break;
      const wave = rest.slice(0, cfg["wave-size"]);
      await write({ ...ro, phase: "waves", allowed: [...allowed, ...wave], wave: ro.wave + 1 });
      logger.notice(`fleet: revision ${R}, wave ${ro.wave}: ${wave.join(", ")}`);
      const results = await Promise.all(wave.map(async (n) => [n, await this.reach(n, R)] as const));
      for (const [n, r] of results) {
        if (r.ok) continue;
        if (r.vanished)
          logger.warning(
            `fleet: revision ${R}: ${n} left the fleet during its wave; it catches up when back`,
          );
        else return this.fail(ro, n, r.reason);
      }
    }
    await write({ ...ro, phase: "done", allowed: "all", "last-good": R });
    await this.etcd.settle(R, "applied");
    logger.notice(`fleet: revision ${R} rolled out to every node`);
  }

  /** Waits until `node` runs `revision` and is healthy, fails to apply it, or times out. */
  private async reach(node: string, revision: number): Promise<Reached> {
    const timeoutMs = timeMillis(this.etcd.cfg.rollout["apply-timeout"]);
    const leaseMs = timeMillis(this.etcd.cfg["lease-ttl"]);
    const deadline = Date.now() + timeoutMs;
    let missingSince: number | undefined;
    let unhealthySince: number | undefined;
    let last: NodeState | undefined;
    for (;;) {
      await this.assertCurrent(revision);
      const state = (await this.etcd.nodes()).find((n) => n.node === node);
      if (state) {
        last = state;
        missingSince = undefined;
        if (state.failed?.revision === revision)
          return { ok: false, reason: `${node} refused it: ${state.failed.error}` };
        if (state.revision === revision && state.health.ok) return { ok: true };
        // Applied but not healthy: workers down, no answer, a crash or a local rollback since.
        if (state.revision === revision) {
          unhealthySince ??= Date.now();
          if (Date.now() - unhealthySince > HEALTH_GRACE_MS)
            return {
              ok: false,
              reason: `${node} runs it but is unhealthy: ${state.health.problems.join("; ")}`,
            };
        }
      } else {
        missingSince ??= Date.now();
        if (Date.now() - missingSince > leaseMs)
          return { ok: false, reason: `${node} left the fleet`, vanished: true };
      }
      if (Date.now() > deadline)
        return {
          ok: false,
          reason: `${node} did not run it healthy within ${timeoutMs} ms${last && last.revision === revision ? `: ${last.health.problems.join("; ")}` : ""}`,
        };
      await sleep(POLL_MS);
    }
  }

  /** Watches `node` for `ms`: it must keep running `revision`, healthy. */
  private async soak(node: string, revision: number, ms: number): Promise<Reached> {
    const until = Date.now() + ms;
    logger.notice(`fleet: revision ${revision}: canary ${node} soaks for ${ms} ms`);
    while (Date.now() < until) {
      await this.assertCurrent(revision);
      const state = (await this.etcd.nodes()).find((n) => n.node === node);
      if (!state) return { ok: false, reason: `canary ${node} left the fleet during its soak time` };
      if (state.revision !== revision || !state.health.ok)
        return {
          ok: false,
          reason: `canary ${node} became unhealthy during its soak time: ${state.health.problems.join("; ") || `runs revision ${state.revision}`}`,
        };
      await sleep(POLL_MS);
    }
    return { ok: true };
  }

  /** Ends the rollout at `node`, and puts the last revision that rolled out back as a new one. */
  private async fail(ro: Rollout, node: string, reason: string): Promise<void> {
    const R = ro.revision;
    logger.error(`fleet: rollout of revision ${R} stopped at ${node}: ${reason}`);
    await this.etcd.putRollout({
      ...ro,
      phase: "failed",
      failure: { node, reason },
      updated: new Date().toISOString(),
    });
    await this.etcd.settle(R, "failed", `${node}: ${reason}`);
    const failedEntry = await this.etcd.historyOf(R);
    const good = ro["last-good"];
    if (failedEntry?.automatic) {
      logger.crit(`fleet: the automatic rollback (revision ${R}) failed too; the fleet stays as it is`);
      return;
    }
    const goodEntry = good !== undefined ? await this.etcd.historyOf(good) : undefined;
    if (!goodEntry) {
      logger.error(`fleet: no earlier revision rolled out completely; nothing to return to`);
      return;
    }
    const back = await this.etcd.putDesired(goodEntry.text, R);
    if (back === undefined) return; // somebody put another revision meanwhile: that one rolls out
    await this.etcd.putHistory({
      revision: back,
      text: goodEntry.text,
      at: new Date().toISOString(),
      source: `automatic rollback: revision ${R} failed on ${node}`,
      "rollback-to": goodEntry.revision,
      automatic: true,
      outcome: "pending",
    });
    logger.notice(`fleet: revision ${back} returns the fleet to revision ${goodEntry.revision}`);
  }
}

/** The canary: the first healthy node by name (nodes sorted), else the first one. */
export function pickCanary(nodes: readonly NodeState[]): string {
  return (nodes.find((n) => n.health.ok) ?? nodes[0]!).node;
}
