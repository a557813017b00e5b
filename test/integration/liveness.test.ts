/**
 * The watchdog's liveness check on real processes: a frozen worker (SIGSTOP) keeps its process and
 * supervisord keeps calling it RUNNING, while the other worker reads everything from the shared
 * sockets. The manager must see it, say so in GET /processes, and replace it; a worker that is only
 * busy (heavy load, a big cache clear) must be left alone. bench/liveness has the check's latencies.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import { luaStr } from "../../lib/utils/lua-literal.js";
import { apiCall } from "../../harness/api.js";
import { bigZone } from "../../harness/big-zone.js";
import { controlCall } from "../../harness/control.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { startKnotd, type Knotd } from "../../harness/knotd.js";
import { sleep, waitFor } from "../../harness/procs.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

const NAMES = Array.from({ length: 20 }, (_, i) => `host${i}.liveness.test.`);
const BIG = bigZone("big.test", 20_000);

let knotd: Knotd;
let r: Resolver;
beforeAll(async () => {
  knotd = await startKnotd({ zones: { [BIG.origin]: BIG.text } });
  r = await startResolver({
    config: {
      workers: 2,
      "local-data": { addresses: Object.fromEntries(NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])) },
      forward: [{ subtree: BIG.origin, servers: [`127.0.0.1@${knotd.port}`], options: { dnssec: false } }],
    },
  });
});
afterAll(async () => {
  await r?.stop();
  await knotd?.stop();
});

interface Row {
  pid: number;
  status: string;
}

async function kresdRows(): Promise<Row[]> {
  const res = await apiCall(r.apiSocket, "GET", "/processes/kresd");
  expect(res.status).toBe(200);
  return res.json as Row[];
}

const managerPid = async (): Promise<number> =>
  ((await apiCall(r.apiSocket, "GET", "/")).json as { pid: number }).pid;

/** Log lines of the liveness check and of kills by the watchdog. */
const livenessLines = (): string[] => r.log.split("\n").filter((l) => /liveness|unresponsive/.test(l));

it("leaves busy workers alone: 8000 q/s on 2 workers with a clear of 20 000 cached names", async () => {
  const before = (await kresdRows()).map((w) => w.pid).sort();
  expect(before).toHaveLength(2);
  // Cache the big subtree first, so that clearing it is real work.
  const fill = await startDnsperf({ port: r.port, names: BIG.names, qps: 8000, seconds: 60, passes: 1 }).done;
  expect(fill.completed).toBe(BIG.names.length);

  const load = startDnsperf({ port: r.port, names: NAMES, qps: 8000, seconds: 14 });
  const seen = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      for (const w of await kresdRows()) seen.add(w.status);
      await sleep(200);
    }
  })();
  try {
    await sleep(2000);
    const cleared = await apiCall(r.apiSocket, "POST", "/cache/clear", {
      body: { name: BIG.origin, "chunk-size": 10_000 },
      timeoutMs: 30_000,
    });
    expect([cleared.status, (cleared.json as { count: number }).count]).toEqual([200, 10_000]);
    // The load goes on for 12 s more: a dozen rounds of checks, each with a 2 s bound.
    await load.done;
  } finally {
    load.kill();
    watching = false;
    await watch;
  }
  expect((await kresdRows()).map((w) => w.pid).sort()).toEqual(before);
  expect([...seen]).toEqual(["running"]);
  expect(livenessLines()).toEqual([]);
});

it("reports a SIGSTOPped worker unresponsive and replaces it within 15 s, losing no query it did not hold", async () => {
  const manager = await managerPid();
  const [victim, other] = (await kresdRows()).map((w) => w.pid) as [number, number];
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 1000, seconds: 20 });
  await sleep(1000);
  // The worker stops itself (SIGSTOP) from its event loop, noting first how many requests it holds
  // (read, not yet answered; kresd reads UDP in batches, up to 32 seen here): those die with it
  // whatever the manager does, as with a SIGSTOP from outside. Every other query must be answered:
  // the shared sockets leave what is queued to the other worker.
  const heldFile = path.join(r.dir, "held-at-stop");
  const stopped = Date.now();
  await controlCall(
    path.join(r.rundir, "control", String(victim)),
    [
      `(function() local ffi = require('ffi'); pcall(ffi.cdef, 'int kill(int pid, int sig);'); ` +
        `local f = io.open(${luaStr(heldFile)}, 'w'); f:write(worker.stats().concurrent); f:close(); ` +
        `return ffi.C.kill(worker.pid, 19) end)()`,
    ],
    { timeoutMs: 500 },
  ).then(
    (answer) => {
      throw new Error(`the worker answered instead of stopping: ${answer.join(" ")}`);
    },
    () => undefined,
  );
  expect(fs.readFileSync(`/proc/${victim}/status`, "utf8")).toMatch(/^State:\s+T \(stopped\)/m);

  const flagged = await waitFor(
    `${victim} reported unresponsive`,
    async () =>
      (await kresdRows()).some((w) => w.pid === victim && w.status === "unresponsive")
        ? Date.now()
        : undefined,
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  const replaced = await waitFor(
    `${victim} replaced`,
    async () => {
      const rows = await kresdRows();
      const running = rows.filter((w) => w.status === "running").map((w) => w.pid);
      return running.length === 2 && !rows.some((w) => w.pid === victim) ? Date.now() : undefined;
    },
    { timeoutMs: 15_000, intervalMs: 100 },
  );
  expect(replaced - stopped).toBeLessThan(15_000);
  expect(flagged).toBeLessThanOrEqual(replaced);
  const now = (await kresdRows()).map((w) => w.pid);
  expect(now).toContain(other);
  expect(() => process.kill(victim, 0)).toThrow(/ESRCH/); // killed and reaped, not merely forgotten

  const held = Number(fs.readFileSync(heldFile, "utf8"));
  const result = await load.done;
  expect(result.completed + result.lost).toBe(result.sent);
  expect({ lost: result.lost, held }).toEqual({ lost: Math.min(result.lost, held), held });
  expect(await managerPid()).toBe(manager);
  const log = livenessLines().join("\n");
  expect(log).toMatch(new RegExp(`kresd:kresd\\d \\(pid ${victim}\\) missed check 3 of 3`));
  expect(log).toMatch(
    new RegExp(
      `kresd:kresd\\d \\(pid ${victim}\\) is unresponsive: 3 liveness checks missed in a row .*SIGKILL`,
    ),
  );
  expect(r.log).toMatch(
    new RegExp(
      `watchdog: kresd:kresd\\d killed by the watchdog as unresponsive .* and was restarted \\(pid ${victim} → \\d+\\)`,
    ),
  );
});

it("does not let a frozen worker hold up a change: it is stopped with SIGKILL, not SIGTERM", async () => {
  const before = (await kresdRows()).map((w) => w.pid);
  const [victim] = before as [number];
  process.kill(victim, "SIGSTOP"); // a SIGTERM would wait for supervisord's stopwaitsecs (60 s)
  const started = Date.now();
  const res = await apiCall(r.apiSocket, "POST", "/reload/force", { timeoutMs: 60_000 });
  expect(res.status).toBe(200);
  expect(Date.now() - started).toBeLessThan(30_000);
  const after = await kresdRows();
  expect(after.map((w) => w.status)).toEqual(["running", "running"]);
  expect(after.filter((w) => before.includes(w.pid))).toEqual([]);
  expect(() => process.kill(victim, 0)).toThrow(/ESRCH/);
  expect(r.log).toMatch(
    new RegExp(`kresd:kresd\\d \\(pid ${victim}\\) does not answer: stopping it with SIGKILL`),
  );
});
