/** ManagerService: its own checks of a change (a real ConfigStore, no processes), its status, its process rows. */
import { validateConfig } from "../../../lib/datamodel/load.js";
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
    worker(1, 12),
  ];

  it("say unresponsive for a worker that misses its liveness checks, supervisord's state otherwise", async () => {
    const config = validateConfig({ rundir, cache: { storage: rundir } });
    const store = new ConfigStore({ document: {}, config });
    const manager = { processes: async () => processes } as unknown as KresManager;
    const service = new ManagerService(store, manager, [], () => Promise.resolve());
    expect(await service.processes("kresd")).toEqual([
      { type: "kresd", id: "kresd0", pid: 11, status: "unresponsive" },
      { type: "kresd", id: "kresd1", pid: 12, status: "running" },
    ]);
  });

  it("leave an unresponsive worker out of the cache clear", () => {
    expect(pickWorker(processes, 2)?.name).toBe("kresd:kresd1");
  });
});
