/**
 * The harness shared by tests and benchmarks, the part integration tests use most. Everything
 * started or created through it is stopped and removed after the test file (afterAll), or when the
 * process (jest worker, benchmark) exits.
 *
 *   const port = await freePort();
 *   const kresd = await startKresd({ lua: "modules.load('nsid')", port });
 *   const r = await kresd.query("localhost", "A");   // or kdigAt(port, ...) / kdig([...])
 *   expect(r.answers[0]?.data).toBe("127.0.0.1");
 */
export { cleanupAll } from "./cleanup.js";
export { controlCall, luaStringAnswer, luaStringAnswerText, type ControlOptions } from "./control.js";
export {
  kdig,
  kdigAt,
  parseKdigJson,
  ednsOptions,
  KdigError,
  type DnsRecord,
  type KdigResult,
} from "./kdig.js";
export { startKnotd, Knotd, type KnotdOptions } from "./knotd.js";
export { startKresd, Kresd, type KresdOptions } from "./kresd.js";
export { OFFLINE_LUA, OFFLINE_MODULES, offlineLua, type OfflineOptions } from "./offline.js";
export { freePort, type FreePortOptions } from "./ports.js";
export { GroupProcess, waitFor, type ExitStatus, type SpawnOptions } from "./procs.js";
export {
  REPO_ROOT,
  KRESCTL,
  KNOT_RESOLVER,
  run,
  ensureBuilt,
  type RunResult,
  type RunOptions,
} from "./repo.js";
export { tmpDir } from "./tmp.js";
