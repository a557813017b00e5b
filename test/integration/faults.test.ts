/**
 * Faults under load against a real resolver: workers and the manager killed with -9 while dnsperf
 * keeps a steady UDP load, and supervisord unreachable for a while. The long variants with
 * counts of lost queries are bench/faults.
 */
import { jest } from "@jest/globals";
import { waitFor } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

const NAMES = Array.from({ length: 20 }, (_, i) => `host${i}.faults.test.`);

let r: Resolver;
beforeAll(async () => {
  r = await startResolver({
    config: {
      workers: 3,
      "local-data": { addresses: Object.fromEntries(NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])) },
    },
  });
});
afterAll(async () => {
  await r.stop();
});

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function runningKresd(): Promise<number[]> {
  const res = await apiCall(r.apiSocket, "GET", "/processes/kresd");
  return (res.json as { pid: number; status: string }[])
    .filter((p) => p.status === "running")
    .map((p) => p.pid);
}

async function managerPid(): Promise<number> {
  return ((await apiCall(r.apiSocket, "GET", "/")).json as { pid: number }).pid;
}

it("stays up and restores the worker count after each kill -9 of a random worker under load", async () => {
  const manager = await managerPid();
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 500, seconds: 12 });
  for (let i = 0; i < 6; i++) {
    const pids = await runningKresd();
    const victim = pids[Math.floor(Math.random() * pids.length)] as number;
    process.kill(victim, "SIGKILL");
    const restored = await waitFor(
      `worker count back after killing ${victim}`,
      async () => {
        const now = await runningKresd();
        return now.length === 3 && !now.includes(victim) ? now : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
    expect(restored).toHaveLength(3);
    await sleep(1500);
  }
  expect(await managerPid()).toBe(manager);
  expect(r.log).not.toContain("giving up");
  const result = await load.done;
  expect(result.sent).toBeGreaterThan(3000);
});

it("loses no query when the manager is killed with -9 under load, and adopts the same workers", async () => {
  const workers = (await runningKresd()).sort();
  const manager = await managerPid();
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 1000, seconds: 5 });
  await sleep(1000);
  process.kill(manager, "SIGKILL");
  const back = await waitFor(
    "a new manager answering",
    async () => {
      try {
        const pid = await managerPid();
        return pid !== manager ? pid : undefined;
      } catch {
        return undefined;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  expect(back).not.toBe(manager);
  const result = await load.done;
  expect({ lost: result.lost, completed: result.completed }).toEqual({ lost: 0, completed: result.sent });
  expect((await runningKresd()).sort()).toEqual(workers);
});

it("answers the API within bounds while supervisord does not answer, and recovers after", async () => {
  process.kill(r.pid, "SIGSTOP"); // supervisord itself: its XML-RPC socket goes silent
  try {
    const started = Date.now();
    const [processes, config] = await Promise.all([
      apiCall(r.apiSocket, "GET", "/processes", { timeoutMs: 30_000 }),
      apiCall(r.apiSocket, "GET", "/v1/config/workers", { timeoutMs: 30_000 }),
    ]);
    expect(Date.now() - started).toBeLessThan(20_000);
    expect([processes.status, processes.json]).toEqual([
      503,
      { error: expect.stringContaining("supervisord") },
    ]);
    expect([config.status, config.json]).toEqual([200, 3]);
  } finally {
    process.kill(r.pid, "SIGCONT");
  }
  const res = await apiCall(r.apiSocket, "GET", "/processes/kresd");
  expect(res.status).toBe(200);
  expect(await runningKresd()).toHaveLength(3);
});
