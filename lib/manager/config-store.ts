import type { KresConfig } from "../datamodel/config.js";
import { structuralEtag } from "../utils/etag.js";
import { ApplyFailed, ChangesBacklogged, PersistIncomplete, PersistRefused } from "./errors.js";
import { SerialQueue } from "../utils/serial-queue.js";
import { logger } from "./logger.js";

/**
 * A config both ways: `document` as written (files merged, then edited through the API; what the
 * API shows and edits, as upstream does, so defaults stay defaults and 'auto' stays 'auto') and
 * `config`, its validated form that the workers run.
 */
export interface ConfigVersion {
  readonly document: unknown;
  readonly config: KresConfig;
}

/** A config version with the ETag of its document. */
export interface Snapshot extends ConfigVersion {
  readonly etag: string;
}

/** What made a config the running one, as the history records it. */
export type ChangeKind = "api" | "reload" | "sighup" | "rollback" | "restore" | "start";

export interface ChangeOptions {
  /** Restart the workers even if their Lua would not change. */
  force?: boolean;
  /** Run the appliers even when the config stays the same (bring the processes in line with it). */
  reapply?: boolean;
  /** Who asked, for the log and the status (e.g. "PUT /v1/config/workers", "SIGHUP"). */
  source: string;
  /** What kind of change this is, for the records (default "api"). */
  kind?: ChangeKind;
  /** Why the change is made, for the records (a rollback's reason). */
  reason?: string;
  /**
   * Write the change into the config files too (through the persister), decided at the change's
   * turn from the config it changes (`management.persist` is the default).
   */
  persist?: (current: Snapshot) => boolean;
}

/** New file contents staged by a persister: put in place once the workers run the change, or dropped. */
export interface StagedWrite {
  /** Throws (PersistIncomplete) when the files could not be replaced; the change runs regardless. */
  commit(): void;
  discard(): void;
}

/**
 * Prepares the files of a change to be persisted, before any worker moves; throws (PersistRefused)
 * when they cannot take it, which refuses the change.
 */
export type Persister = (before: Snapshot, next: Snapshot) => StagedWrite;

/** A pure check of a proposed change; throws (ChangeRefused) to refuse it. */
export type Verifier = (current: KresConfig, next: KresConfig, options: ChangeOptions) => void;
/**
 * Makes the world follow a change, before it counts as done. Throwing keeps the old config;
 * an applier that moved something must put it back before throwing.
 */
export type Applier = (current: KresConfig, next: KresConfig, options: ChangeOptions) => Promise<void>;

/**
 * Keeps a record of each config that becomes the running one (e.g. saves it for a restarted
 * manager, adds it to the history). Runs before the change is answered; must not throw: the change
 * is done by then. `change` tells the config it replaced and how the change was asked for.
 */
export type Recorder = (
  running: Snapshot,
  source: string,
  change: { previous: Snapshot; options: ChangeOptions },
) => void;

/** A config that was put back by itself because its workers kept dying. */
export interface RollbackRecord {
  at: string;
  /** ETag of the config given up, and of the one restored. */
  from: string;
  to: string;
  reason: string;
}

export interface ChangeOutcome {
  snapshot: Snapshot;
  /** False when the proposal equalled the current config and nothing was forced. */
  changed: boolean;
}

/** The last change attempted, for the status endpoint. */
export interface ChangeRecord {
  source: string;
  at: string;
  outcome: "applied" | "unchanged" | "refused" | "failed";
  message?: string;
}

function snapshotOf(v: ConfigVersion): Snapshot {
  return { document: v.document, config: v.config, etag: structuralEtag(v.document) };
}

/** How many changes may wait at once, the running one included. */
export const MAX_QUEUED_CHANGES = 64;

/**
 * Holds the running config. Changes queue up and run one at a time in arrival order: each one
 * computes its proposal from the config current at its turn (so If-Match is checked race-free),
 * then verifiers, then appliers; the config changes only when all of them passed.
 */
export class ConfigStore {
  private current: Snapshot;
  private readonly queue = new SerialQueue();
  private readonly verifiers: Verifier[] = [];
  private readonly appliers: Applier[] = [];
  private readonly recorders: Recorder[] = [];
  private persister: Persister | undefined;
  // Whether the files say exactly this snapshot (it was persisted, or read from them).
  private filesHold: ((s: Snapshot) => boolean) | undefined;
  private last: ChangeRecord | undefined;
  // The last config whose workers ran through their probation (the initial one counts).
  private stable: Snapshot;
  private rollback: RollbackRecord | undefined;

  constructor(
    initial: ConfigVersion,
    /** Changes that may wait (the running one included) before more are turned away. */
    private readonly maxQueued = MAX_QUEUED_CHANGES,
  ) {
    this.current = snapshotOf(initial);
    this.stable = this.current;
  }

  get lastRollback(): RollbackRecord | undefined {
    return this.rollback;
  }

  /** The running config proved itself: a later rollback comes back to it. */
  markStable(config: KresConfig): void {
    if (this.current.config === config) this.stable = this.current;
  }

  /**
   * The running config `config` does not run: queue a change back to the last stable config.
   * Nothing happens when `config` is no longer current (a newer change replaced it) or is itself
   * the last stable one (there is nothing better to go back to).
   */
  async rollBack(config: KresConfig, reason: string): Promise<void> {
    const run = async () => {
      const from = this.current;
      if (from.config !== config || from === this.stable) {
        logger.warning(
          `no rollback: ${from === this.stable ? "this is the last stable configuration" : "it was replaced meanwhile"}`,
        );
        return;
      }
      const to = this.stable;
      logger.error(`rolling back to the last stable configuration (ETag ${to.etag}): ${reason}`);
      // A config that was persisted must not stay in the files: the next start would run it again.
      // Files that cannot be written never hold a rollback back: it goes on without them.
      const persist = this.filesHold?.(from) ?? false;
      const back = (persisted: boolean) =>
        this.run(() => to, {
          source: "rollback",
          kind: "rollback",
          reason,
          reapply: true,
          persist: () => persisted,
        });
      try {
        await back(persist);
      } catch (e) {
        if (e instanceof PersistIncomplete) logger.error(`rollback: ${e.message}`);
        else if (e instanceof PersistRefused) {
          logger.error(`rollback: the files keep the configuration given up: ${e.message}`);
          await back(false);
        } else throw e;
      }
      this.rollback = { at: new Date().toISOString(), from: from.etag, to: to.etag, reason };
    };
    return this.queue.run(run);
  }

  get snapshot(): Snapshot {
    return this.current;
  }

  get lastChange(): ChangeRecord | undefined {
    return this.last;
  }

  addVerifier(v: Verifier): void {
    this.verifiers.push(v);
  }

  addApplier(a: Applier): void {
    this.appliers.push(a);
  }

  addRecorder(r: Recorder): void {
    this.recorders.push(r);
  }

  /**
   * `filesHold` tells whether the files say a snapshot as it is: a rollback from such a config
   * writes the config it goes back to into them too.
   */
  setPersister(p: Persister, filesHold?: (s: Snapshot) => boolean): void {
    this.persister = p;
    this.filesHold = filesHold;
  }

  /**
   * Queues a change. `propose` runs at the change's turn and returns the next config, validated;
   * it may throw to refuse (precondition, validation), which changes nothing.
   */
  change(propose: (current: Snapshot) => ConfigVersion, options: ChangeOptions): Promise<ChangeOutcome> {
    return this.enqueue(() => this.run(propose, options));
  }

  /**
   * What change(propose, options) would do, without doing it: at its turn in the queue (so it sees
   * what the changes before it leave), the same proposal and the same checks, which throw as they
   * would; then `planner` looks at the config before and after (`applies` false: the change would
   * stop there, the config staying the same). Nothing is applied, persisted or recorded.
   */
  plan<T>(
    propose: (current: Snapshot) => ConfigVersion,
    options: ChangeOptions,
    planner: (before: Snapshot, next: Snapshot, applies: boolean) => Promise<T>,
  ): Promise<T> {
    return this.enqueue(async () => {
      const { before, next, applies } = this.check(propose, options);
      return planner(before, next, applies);
    });
  }

  private enqueue<T>(fn: () => Promise<T>): Promise<T> {
    // Each waiting change holds its request body and a client: a flood of them must not pile up
    // behind a slow rolling restart. (Rollbacks are the manager's own and always queue.)
    if (this.queue.size >= this.maxQueued)
      return Promise.reject(
        new ChangesBacklogged(
          `${this.queue.size} configuration changes are already waiting (at most ${this.maxQueued}); try again later`,
        ),
      );
    return this.queue.run(fn);
  }

  /**
   * The proposal at this turn and whether it applies: a config equal to the current one does not
   * (unless forced or re-applied); one that does must pass every verifier, which throw to refuse.
   */
  private check(
    propose: (current: Snapshot) => ConfigVersion,
    options: ChangeOptions,
  ): { before: Snapshot; next: Snapshot; applies: boolean } {
    const before = this.current;
    const next = snapshotOf(propose(before));
    const applies = next.etag !== before.etag || !!options.force || !!options.reapply;
    if (applies) for (const verify of this.verifiers) verify(before.config, next.config, options);
    return { before, next, applies };
  }

  private async run(
    propose: (current: Snapshot) => ConfigVersion,
    options: ChangeOptions,
  ): Promise<ChangeOutcome> {
    const record = (outcome: ChangeRecord["outcome"], message?: string) => {
      this.last = {
        source: options.source,
        at: new Date().toISOString(),
        outcome,
        ...(message ? { message } : {}),
      };
    };
    const before = this.current;
    let next: Snapshot;
    let staged: StagedWrite | undefined;
    try {
      const checked = this.check(propose, options);
      next = checked.next;
      if (!checked.applies) {
        record("unchanged");
        return { snapshot: before, changed: false };
      }
      // Last of the checks: the files are written (not yet in place) before any worker moves.
      if (options.persist?.(before)) {
        if (!this.persister)
          throw new PersistRefused("not changed: this manager has no config files to persist to");
        staged = this.persister(before, next);
      }
      for (const apply of this.appliers) await apply(before.config, next.config, options);
    } catch (e) {
      staged?.discard();
      const outcome = e instanceof ApplyFailed ? "failed" : "refused";
      record(outcome, (e as Error).message);
      logger.warning(`${options.source}: change ${outcome}: ${(e as Error).message}`);
      throw e;
    }
    this.current = next;
    if (options.source === "rollback") this.stable = next;
    for (const keep of this.recorders) keep(next, options.source, { previous: before, options });
    record("applied");
    logger.notice(`${options.source}: configuration applied (ETag ${next.etag})`);
    try {
      staged?.commit();
    } catch (e) {
      record("applied", (e as Error).message);
      logger.error(`${options.source}: ${(e as Error).message}`);
      throw e;
    }
    return { snapshot: next, changed: true };
  }
}
