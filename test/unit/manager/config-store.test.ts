import { validateConfig } from "../../../lib/datamodel/load.js";
import { ConfigStore, type ConfigVersion } from "../../../lib/manager/config-store.js";
import {
  ApplyFailed,
  ChangeRefused,
  ChangesBacklogged,
  PersistIncomplete,
  PersistRefused,
} from "../../../lib/manager/errors.js";
import { logger } from "../../../lib/manager/logger.js";
import { refuseFixedChanges } from "../../../lib/manager/runtime-limits.js";
import { testRundir } from "../../../harness/validation.js";

const rundir = testRundir("krm-store-");
logger.silent = true;

function version(extra: Record<string, unknown> = {}): ConfigVersion {
  const document = { rundir, cache: { storage: rundir }, ...extra };
  return { document, config: validateConfig(document, { strict: false }) };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("ConfigStore", () => {
  it("gives the document as written and an ETag that follows its content, not its key order", () => {
    const a = new ConfigStore(version({ workers: 2, nsid: "x" }));
    const b = new ConfigStore({
      ...version(),
      document: { nsid: "x", workers: 2, ...(version().document as object) },
    });
    expect(a.snapshot.document).toMatchObject({ workers: 2 });
    expect(a.snapshot.etag).toMatch(/^[0-9a-f]+$/);
    expect(new ConfigStore(version({ workers: 3 })).snapshot.etag).not.toBe(a.snapshot.etag);
    expect(b.snapshot.etag).toBe(a.snapshot.etag);
  });

  it("applies changes one at a time, in arrival order, each seeing the result of the one before", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    const log: string[] = [];
    store.addApplier(async (cur, next) => {
      log.push(`start ${cur.workers}→${next.workers}`);
      await tick();
      log.push(`end ${next.workers}`);
    });
    const bump = (source: string) =>
      store.change((s) => version({ workers: (s.config.workers as number) + 1 }), { source });
    await Promise.all([bump("a"), bump("b"), bump("c")]);
    expect(log).toEqual(["start 1→2", "end 2", "start 2→3", "end 3", "start 3→4", "end 4"]);
    expect(store.snapshot.config.workers).toBe(4);
    expect(store.lastChange).toMatchObject({ source: "c", outcome: "applied" });
  });

  it("does nothing for a proposal equal to the current config, unless forced or asked to re-apply", async () => {
    const store = new ConfigStore(version({ workers: 2 }));
    let applied = 0;
    store.addApplier(async () => {
      applied++;
    });
    expect((await store.change(() => version({ workers: 2 }), { source: "same" })).changed).toBe(false);
    expect(applied).toBe(0);
    expect(store.lastChange?.outcome).toBe("unchanged");
    await store.change(() => version({ workers: 2 }), { source: "forced", force: true });
    await store.change(() => version({ workers: 2 }), { source: "renew", reapply: true });
    expect(applied).toBe(2);
  });

  it("keeps the config when a proposal, a verifier or an applier refuses, and goes on with the next change", async () => {
    const store = new ConfigStore(version({ workers: 2 }));
    const before = store.snapshot;
    store.addVerifier((_c, next) => {
      if (next.nsid === "no") throw new ChangeRefused("nsid 'no' refused");
    });
    store.addApplier(async (_c, next) => {
      if (next.workers === 5) throw new ApplyFailed("worker 4 would not start", true);
    });
    await expect(
      store.change(
        () => {
          throw new Error("bad proposal");
        },
        { source: "p" },
      ),
    ).rejects.toThrow("bad proposal");
    await expect(store.change(() => version({ nsid: "no" }), { source: "v" })).rejects.toThrow(ChangeRefused);
    expect(store.lastChange).toMatchObject({ source: "v", outcome: "refused", message: "nsid 'no' refused" });
    await expect(store.change(() => version({ workers: 5 }), { source: "a" })).rejects.toThrow(ApplyFailed);
    expect(store.lastChange).toMatchObject({ source: "a", outcome: "failed" });
    expect(store.snapshot).toBe(before);
    await store.change(() => version({ workers: 3 }), { source: "ok" });
    expect(store.snapshot.config.workers).toBe(3);
  });

  it("passes force and source on to the appliers", async () => {
    const store = new ConfigStore(version());
    const seen: unknown[] = [];
    store.addApplier(async (_c, _n, options) => {
      seen.push(options);
    });
    await store.change(() => version(), { source: "POST /reload/force", force: true });
    expect(seen).toEqual([{ source: "POST /reload/force", force: true }]);
  });

  it("turns a change away at once (503) when the queue is full, and takes changes again once it drains", async () => {
    const store = new ConfigStore(version(), 3);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    store.addApplier(() => gate);
    const queued = [1, 2, 3].map((n) => store.change(() => version({ nsid: `n${n}` }), { source: `c${n}` }));
    // Waiting for a turn would wait forever here (the gate never opens): the test's timeout.
    const turnedAway = await store
      .change(() => version({ nsid: "n4" }), { source: "c4" })
      .catch((e: unknown) => e);
    expect(turnedAway).toBeInstanceOf(ChangesBacklogged);
    expect((turnedAway as ChangesBacklogged).status).toBe(503);
    expect((turnedAway as Error).message).toBe(
      "3 configuration changes are already waiting (at most 3); try again later",
    );
    release();
    await Promise.all(queued);
    expect(store.snapshot.config.nsid).toBe("n3");
    await store.change(() => version({ nsid: "n5" }), { source: "c5" });
    expect(store.snapshot.config.nsid).toBe("n5");
  });
});

describe("settings fixed while running", () => {
  const cfg = (extra: Record<string, unknown>) => version(extra).config;

  it("lets every other setting change", () => {
    expect(() => refuseFixedChanges(cfg({ workers: 1 }), cfg({ workers: 4, nsid: "n" }))).not.toThrow();
  });

  it("lets management.persist change, but not the rest of management with it", () => {
    const socket = { "unix-socket": `${rundir}/kres-api.sock` };
    const m = (management: object) => cfg({ management });
    expect(() => refuseFixedChanges(m(socket), m({ ...socket, persist: true }))).not.toThrow();
    expect(() =>
      refuseFixedChanges(m({ ...socket, persist: true }), m({ ...socket, persist: false })),
    ).not.toThrow();
    expect(() => refuseFixedChanges(m(socket), m({ interface: "127.0.0.1@5000", persist: true }))).toThrow(
      ChangeRefused,
    );
  });

  it("refuses rundir, management and logging target changes, naming each", () => {
    const other = testRundir("krm-store-other-");
    try {
      refuseFixedChanges(
        cfg({}),
        version({
          rundir: other,
          management: { interface: "127.0.0.1@5000" },
          logging: { target: "syslog" },
        }).config,
      );
      throw new Error("not refused");
    } catch (e) {
      expect(e).toBeInstanceOf(ChangeRefused);
      expect((e as ChangeRefused).problems.map((p) => p.pointer)).toEqual([
        "/rundir",
        "/management",
        "/logging/target",
      ]);
      expect((e as ChangeRefused).problems[0]?.message).toMatch(/cannot change while the resolver runs/);
    }
  });
});

describe("ConfigStore rollback", () => {
  it("goes back to the last stable config and records why", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    const applied: number[] = [];
    store.addApplier(async (_c, next) => {
      applied.push(next.workers);
    });
    const first = store.snapshot;
    await store.change(() => version({ workers: 2 }), { source: "a" });
    await store.rollBack(store.snapshot.config, "workers keep dying");
    expect([store.snapshot.etag, store.snapshot.config]).toEqual([first.etag, first.config]);
    expect(applied).toEqual([2, 1]);
    expect(store.lastRollback).toMatchObject({ to: first.etag, reason: "workers keep dying" });
    expect(store.lastChange).toMatchObject({ source: "rollback", outcome: "applied" });
  });

  it("keeps a config that survived its probation as the rollback target", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    await store.change(() => version({ workers: 2 }), { source: "a" });
    store.markStable(store.snapshot.config);
    const stable = store.snapshot;
    await store.change(() => version({ workers: 3 }), { source: "b" });
    await store.rollBack(store.snapshot.config, "dying");
    expect(store.snapshot.etag).toBe(stable.etag);
  });

  it("does nothing when the unstable config was already replaced, or is the stable one", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    await store.change(() => version({ workers: 2 }), { source: "a" });
    const replaced = store.snapshot.config;
    await store.change(() => version({ workers: 3 }), { source: "b" });
    const current = store.snapshot;
    await store.rollBack(replaced, "old news");
    expect(store.snapshot).toBe(current);
    const fresh = new ConfigStore(version({ workers: 1 }));
    await fresh.rollBack(fresh.snapshot.config, "nothing better");
    expect(fresh.lastRollback).toBeUndefined();
  });
});

describe("ConfigStore recorders (the running config saved for a restarted manager)", () => {
  it("hear of each applied config before the change is answered, and of nothing refused or unchanged", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    const events: string[] = [];
    store.addVerifier((_c, next) => {
      if (next.nsid === "no") throw new ChangeRefused("refused");
    });
    store.addApplier(async (_c, next) => {
      events.push(`applied ${next.workers}`);
    });
    store.addRecorder((running, source) => {
      // The store already holds it: a status read meanwhile agrees with what is saved.
      expect(store.snapshot).toBe(running);
      events.push(`recorded ${running.config.workers} ${running.etag} by ${source}`);
    });
    const outcome = store.change(() => version({ workers: 2 }), { source: "PUT /v1/config/workers" });
    void outcome.then(() => events.push("answered"));
    const { snapshot } = await outcome;
    await expect(store.change(() => version({ nsid: "no" }), { source: "refused" })).rejects.toThrow();
    await store.change(() => version({ workers: 2 }), { source: "same" });
    expect(events).toEqual([
      "applied 2",
      `recorded 2 ${snapshot.etag} by PUT /v1/config/workers`,
      "answered",
    ]);
  });

  it("hear of a rollback's config, and a store over a resumed config rolls back to it", async () => {
    const resumed = version({ workers: 3 });
    const store = new ConfigStore(resumed);
    const recorded: string[] = [];
    store.addRecorder((running, source) => recorded.push(`${source} ${running.etag}`));
    const first = store.snapshot;
    await store.change(() => version({ workers: 4 }), { source: "a" });
    const bad = store.snapshot;
    await store.rollBack(bad.config, "dying");
    expect(store.snapshot.etag).toBe(first.etag);
    expect(recorded).toEqual([`a ${bad.etag}`, `rollback ${first.etag}`]);
  });

  it("are told the config each one replaced and how it was asked for (a rollback: its kind and reason)", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    const heard: unknown[] = [];
    store.addRecorder((running, source, { previous, options }) =>
      heard.push({
        source,
        from: previous.config.workers,
        to: running.config.workers,
        kind: options.kind,
        reason: options.reason,
      }),
    );
    await store.change(() => version({ workers: 2 }), { source: "POST /reload", kind: "reload" });
    await store.rollBack(store.snapshot.config, "workers keep dying");
    expect(heard).toEqual([
      { source: "POST /reload", from: 1, to: 2, kind: "reload", reason: undefined },
      { source: "rollback", from: 2, to: 1, kind: "rollback", reason: "workers keep dying" },
    ]);
  });
});

describe("ConfigStore persister (changes written into the config files)", () => {
  /** A store whose persister and appliers log what they do, in order. */
  function persisting(commitFails = false) {
    const store = new ConfigStore(version({ workers: 1 }));
    const log: string[] = [];
    store.setPersister((before, next) => {
      log.push(`stage ${before.config.workers}→${next.config.workers}`);
      return {
        commit: () => {
          log.push("commit");
          if (commitFails) throw new PersistIncomplete("cannot replace c.yaml: EIO", "etag");
        },
        discard: () => log.push("discard"),
      };
    });
    store.addApplier(async (_cur, next) => {
      log.push(`apply ${next.workers}`);
      if (next.workers === 9) throw new ApplyFailed("worker died", true);
    });
    return { store, log };
  }
  const workers = (n: number) => () => version({ workers: n });

  it("stages before any applier and commits after all of them, only when the change asks", async () => {
    const { store, log } = persisting();
    await store.change(workers(2), { source: "t", persist: () => true });
    await store.change(workers(3), { source: "t", persist: () => false });
    await store.change(workers(4), { source: "t" });
    expect(log).toEqual(["stage 1→2", "apply 2", "commit", "apply 3", "apply 4"]);
  });

  it("decides from the config the change replaces", async () => {
    const { store, log } = persisting();
    const seen: unknown[] = [];
    await store.change(workers(2), {
      source: "t",
      persist: (current) => {
        seen.push(current.config.workers);
        return false;
      },
    });
    expect(seen).toEqual([1]);
    expect(log).toEqual(["apply 2"]);
  });

  it("refuses the change when staging fails: no applier runs, the config stays", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    const applied: number[] = [];
    store.setPersister(() => {
      throw new PersistRefused("not changed: cannot write /etc/kr/c.yaml: EROFS");
    });
    store.addApplier(async (_c, next) => void applied.push(next.workers as number));
    await expect(store.change(workers(2), { source: "t", persist: () => true })).rejects.toThrow(
      /cannot write \/etc\/kr\/c.yaml: EROFS/,
    );
    expect(applied).toEqual([]);
    expect(store.snapshot.config.workers).toBe(1);
    expect(store.lastChange).toMatchObject({ outcome: "refused" });
  });

  it("discards what it staged when an applier fails", async () => {
    const { store, log } = persisting();
    await expect(store.change(workers(9), { source: "t", persist: () => true })).rejects.toThrow(ApplyFailed);
    expect(log).toEqual(["stage 1→9", "apply 9", "discard"]);
    expect(store.snapshot.config.workers).toBe(1);
  });

  it("keeps the applied change when the commit fails, and says so", async () => {
    const { store, log } = persisting(true);
    await expect(store.change(workers(2), { source: "t", persist: () => true })).rejects.toThrow(
      PersistIncomplete,
    );
    expect(log).toEqual(["stage 1→2", "apply 2", "commit"]);
    expect(store.snapshot.config.workers).toBe(2);
    expect(store.lastChange).toMatchObject({ outcome: "applied", message: expect.stringMatching(/EIO/) });
  });

  it("a rollback from a config the files hold writes the stable one back into them", async () => {
    const { store, log } = persisting();
    let filesSay = 1;
    store.setPersister(
      (before, next) => {
        log.push(`stage ${before.config.workers}→${next.config.workers}`);
        return { commit: () => void (filesSay = next.config.workers), discard: () => log.push("discard") };
      },
      (s) => s.config.workers === filesSay,
    );
    await store.change(workers(2), { source: "t", persist: () => true });
    await store.rollBack(store.snapshot.config, "dying");
    expect(log).toEqual(["stage 1→2", "apply 2", "stage 2→1", "apply 1"]);
    expect([filesSay, store.snapshot.config.workers]).toEqual([1, 1]);
  });

  it("a rollback goes on without the files when they cannot be written", async () => {
    const { store, log } = persisting();
    let filesSay = 1;
    store.setPersister(
      (before, next) => {
        if (next.config.workers === 1) throw new PersistRefused("not changed: cannot write c.yaml: EROFS");
        return { commit: () => void (filesSay = next.config.workers), discard: () => undefined };
      },
      (s) => s.config.workers === filesSay,
    );
    await store.change(workers(2), { source: "t", persist: () => true });
    await store.rollBack(store.snapshot.config, "dying");
    expect(log).toEqual(["apply 2", "apply 1"]);
    expect([filesSay, store.snapshot.config.workers]).toEqual([2, 1]);
    expect(store.lastRollback).toMatchObject({ reason: "dying" });
  });

  it("a rollback from a change the files never held leaves them alone", async () => {
    const { store, log } = persisting();
    store.setPersister(
      (before, next) => {
        log.push(`stage ${before.config.workers}→${next.config.workers}`);
        return { commit: () => undefined, discard: () => undefined };
      },
      (s) => s.config.workers === 1,
    );
    await store.change(workers(2), { source: "t" });
    await store.rollBack(store.snapshot.config, "dying");
    expect(log).toEqual(["apply 2", "apply 1"]);
  });

  it("refuses a persisted change when there is no persister", async () => {
    const store = new ConfigStore(version({ workers: 1 }));
    await expect(store.change(workers(2), { source: "t", persist: () => true })).rejects.toThrow(
      PersistRefused,
    );
    expect(store.snapshot.config.workers).toBe(1);
  });
});
