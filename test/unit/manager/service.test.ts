/** ManagerService: its own checks of a change (a real ConfigStore, no processes), its status, its process rows. */
import * as path from "node:path";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { HistoryEntryNotFound, HistoryUnavailable } from "../../../lib/manager/errors.js";
import { History, historyRecorder, recordStart } from "../../../lib/manager/history.js";
import { structuralEtag } from "../../../lib/utils/etag.js";
import { tmpDir } from "../../../harness/tmp.js";
import { ConfigStore } from "../../../lib/manager/config-store.js";
import { pickWorker } from "../../../lib/manager/cache-clear.js";
import type { KresManager, ManagedProcess } from "../../../lib/manager/kres-manager.js";
import { logger } from "../../../lib/manager/logger.js";
import { ManagerService } from "../../../lib/manager/service.js";
import { ExpandsTooLarge, MAX_EXPANDED_BYTES } from "../../../lib/utils/parsing.js";
import { testRundir } from "../../../harness/validation.js";

const rundir = testRundir("krm-service-");
logger.silent = true;

describe("a change whose result is larger than any request body may be", () => {
  it("is refused with 413 before validation, and changes nothing", async () => {
    // Each change is within the bounds, but appending again and again grows the config without end.
    const document = {
      rundir,
      cache: { storage: rundir },
      junk: ["x".repeat(MAX_EXPANDED_BYTES - 1_000_000)],
    };
    const store = new ConfigStore({
      document,
      config: validateConfig({ rundir, cache: { storage: rundir } }),
    });
    const before = store.snapshot;
    const service = new ManagerService(store, {} as KresManager, [], () => Promise.resolve());
    const change = service.changeConfig("put", "/junk/-", "y".repeat(2_000_000), {}, "test");
    await expect(change).rejects.toThrow(ExpandsTooLarge);
    await expect(change).rejects.toMatchObject({
      status: 413,
      message:
        "the configuration after this change stands for more than 16777216 bytes (16 MiB) of JSON text once YAML aliases are expanded",
    });
    expect(store.snapshot).toBe(before);
    expect((store.snapshot.document as { junk: unknown[] }).junk).toHaveLength(1);
  });
});

describe("the status", () => {
  const store = () => new ConfigStore({ document: { rundir }, config: validateConfig({ rundir }) });

  it("says the config came from the files by default, naming them", () => {
    const service = new ManagerService(store(), {} as KresManager, ["/etc/kr/a.yaml"], () =>
      Promise.resolve(),
    );
    expect(service.status()["config-source"]).toEqual({ from: "files", files: ["/etc/kr/a.yaml"] });
  });

  it("says when the config was resumed after a manager restart, with the ETag resumed", () => {
    const s = store();
    const source = {
      from: "resumed" as const,
      etag: s.snapshot.etag,
      "saved-at": "2025-01-01T00:00:00.000Z",
      "saved-by": "PATCH /v1/config/local-data/addresses",
    };
    const service = new ManagerService(s, {} as KresManager, [], () => Promise.resolve(), source);
    expect(service.status()).toMatchObject({ etag: s.snapshot.etag, "config-source": source });
  });
});

describe("the process rows of GET /processes", () => {
  const worker = (id: number, pid: number, extra: Partial<ManagedProcess> = {}): ManagedProcess => ({
    name: `kresd:kresd${id}`,
    kind: "kresd",
    id,
    state: "running",
    pid,
    startedAt: 1,
    ...extra,
  });
  const processes = [
    worker(0, 11, { unresponsive: { count: 1, last: "control/11: no answer within 2000 ms" } }),
    worker(1, 12, { startedAt: 1_796_000_000, restarts: 2 }),
  ];

  it("say unresponsive for a worker that misses its liveness checks, supervisord's state otherwise; when each started and how often it was restarted", async () => {
    const config = validateConfig({ rundir, cache: { storage: rundir } });
    const store = new ConfigStore({ document: {}, config });
    const manager = { processes: async () => processes } as unknown as KresManager;
    const service = new ManagerService(store, manager, [], () => Promise.resolve());
    expect(await service.processes("kresd")).toEqual([
      { type: "kresd", id: "kresd0", pid: 11, status: "unresponsive", started: "1970-01-01T00:00:01.000Z" },
      {
        type: "kresd",
        id: "kresd1",
        pid: 12,
        status: "running",
        started: new Date(1_796_000_000_000).toISOString(),
        restarts: 2,
      },
    ]);
  });

  it("leave an unresponsive worker out of the cache clear", () => {
    expect(pickWorker(processes, 2)?.name).toBe("kresd:kresd1");
  });
});

describe("a restore from the history", () => {
  /** A service over a real store and history (no processes), the store's changes recorded in it. */
  function setUp() {
    const document = { rundir, cache: { storage: rundir }, workers: 1 };
    const store = new ConfigStore({ document, config: validateConfig(document) });
    const history = History.open(path.join(tmpDir("krm-service-history-"), "history"), () => 100);
    recordStart(history, store.snapshot, false);
    store.addRecorder(historyRecorder(history));
    const service = new ManagerService(
      store,
      {} as KresManager,
      [],
      () => Promise.resolve(),
      undefined,
      undefined,
      history,
    );
    return { store, history, service, start: store.snapshot };
  }

  it("makes the entry's config the running one through the store, recorded as a restore", async () => {
    const { store, history, service, start } = setUp();
    await service.changeConfig("put", "/workers", 2, {}, "PUT /v1/config/workers");
    const result = await service.restoreHistory(
      `"${start.etag}"`,
      { ifMatch: `"${store.snapshot.etag}"` },
      "POST /v1/history/x/restore",
    );
    expect(result).toEqual({ etag: start.etag, "restored-from": "000001", changed: true });
    expect(store.snapshot.document).toEqual(start.document);
    expect(history.newest()).toMatchObject({
      id: "000003",
      kind: "restore",
      message: "restored from history entry 000001",
    });
  });

  it("refuses a stale If-Match (412) and an unknown ETag (404), changing nothing", async () => {
    const { store, service, start } = setUp();
    await service.changeConfig("put", "/workers", 2, {}, "PUT /v1/config/workers");
    const before = store.snapshot;
    await expect(service.restoreHistory(start.etag, { ifMatch: '"stale"' }, "x")).rejects.toMatchObject({
      status: 412,
    });
    await expect(service.restoreHistory("0123", {}, "x")).rejects.toThrow(HistoryEntryNotFound);
    expect(store.snapshot).toBe(before);
  });

  it("validates the recorded document as any change: one that no longer validates is refused (422)", async () => {
    const { store, history, service } = setUp();
    const bad = { rundir, cache: { storage: rundir }, workers: "many" };
    history.record({ etag: structuralEtag(bad), source: "an older manager", kind: "api", document: bad });
    const before = store.snapshot;
    await expect(service.restoreHistory(structuralEtag(bad), {}, "x")).rejects.toMatchObject({ status: 422 });
    expect(store.snapshot).toBe(before);
  });

  it("answers 503 with the reason when there is no history", () => {
    const document = { rundir };
    const service = new ManagerService(
      new ConfigStore({ document, config: validateConfig(document) }),
      {} as KresManager,
      [],
      () => Promise.resolve(),
      undefined,
      undefined,
      "cannot use /nope: EACCES",
    );
    expect(() => service.listHistory(undefined, undefined)).toThrow(HistoryUnavailable);
    expect(() => service.listHistory(undefined, undefined)).toThrow("no history: cannot use /nope: EACCES");
  });
});
