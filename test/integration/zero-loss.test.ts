/**
 * No query is lost while every worker is replaced: a steady UDP load (dnsperf) against a real
 * resolver during forced reloads. The long variant (≥ 60 000 queries) is bench/zero-loss.
 */
import { jest } from "@jest/globals";
import { apiCall } from "../../harness/api.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

const NAMES = Array.from({ length: 50 }, (_, i) => `host${i}.load.test.`);

let r: Resolver;
beforeAll(async () => {
  r = await startResolver({
    config: {
      workers: 4,
      "local-data": { addresses: Object.fromEntries(NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])) },
    },
  });
});
afterAll(async () => {
  await r.stop();
});

const kresdPids = async () =>
  [...(await r.status())]
    .filter(([n, row]) => n.startsWith("kresd:") && row.state === "RUNNING")
    .map(([, row]) => row.pid);

it("loses no query at 1000 qps during three forced reloads of four workers", async () => {
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 1000, seconds: 8 });
  await new Promise((res) => setTimeout(res, 1000));
  for (let i = 0; i < 3; i++) {
    const before = await kresdPids();
    const res = await apiCall(r.apiSocket, "POST", "/reload/force");
    expect(res.status).toBe(200);
    const after = await kresdPids();
    expect(after).toHaveLength(4);
    expect(after.filter((p) => before.includes(p))).toEqual([]); // every worker was replaced
  }
  const result = await load.done;
  expect(result.sent).toBeGreaterThanOrEqual(6000);
  expect({ lost: result.lost, completed: result.completed }).toEqual({ lost: 0, completed: result.sent });
});
