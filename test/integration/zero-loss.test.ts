/**
 * No query is lost while every worker is replaced: steady loads against a real resolver during
 * forced reloads, over UDP (dnsperf), TCP, DoT and DoH (harness/stream-load.ts, a client that
 * resends what a connection closed under it left unanswered, as RFC 7766 asks). The long variants
 * at full load are bench/zero-loss.
 */
import { jest } from "@jest/globals";
import { apiCall } from "../../harness/api.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { selfSignedCert, type TlsFiles } from "../../harness/tls.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";
import { startStreamLoad } from "../../harness/stream-load.js";
import { tmpDir } from "../../harness/tmp.js";

jest.setTimeout(120_000);

const NAMES = Array.from({ length: 50 }, (_, i) => `host${i}.load.test.`);

let r: Resolver;
let tls: TlsFiles;
beforeAll(async () => {
  tls = await selfSignedCert(tmpDir("krm-zero-loss-tls-"));
  r = await startResolver({
    config: {
      workers: 4,
      "local-data": { addresses: Object.fromEntries(NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])) },
    },
    dot: tls,
    doh: true,
  });
});
afterAll(async () => {
  await r.stop();
});

const kresdPids = async () =>
  [...(await r.status())]
    .filter(([n, row]) => n.startsWith("kresd:") && row.state === "RUNNING")
    .map(([, row]) => row.pid);

/** Three forced reloads, each checked to have replaced every one of the four workers. */
async function threeForcedReloads(): Promise<void> {
  await new Promise((res) => setTimeout(res, 1000));
  for (let i = 0; i < 3; i++) {
    const before = await kresdPids();
    const res = await apiCall(r.apiSocket, "POST", "/reload/force");
    expect(res.status).toBe(200);
    const after = await kresdPids();
    expect(after).toHaveLength(4);
    expect(after.filter((p) => before.includes(p))).toEqual([]); // every worker was replaced
  }
}

it("loses no UDP query at 1000 qps during three forced reloads of four workers", async () => {
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 1000, seconds: 8 });
  await threeForcedReloads();
  const result = await load.done;
  expect(result.sent).toBeGreaterThanOrEqual(6000);
  expect({ lost: result.lost, completed: result.completed }).toEqual({ lost: 0, completed: result.sent });
});

it.each([
  ["TCP", 200, 5],
  ["DoT", 100, 4],
  ["DoH", 100, 4],
])(
  "loses no %s query (%d qps over %d connections) during three forced reloads, though its connections are closed",
  async (kind, qps, connections) => {
    const load = startStreamLoad({
      port: kind === "TCP" ? r.port : kind === "DoT" ? r.dotPort! : r.dohPort!,
      tlsCa: kind === "TCP" ? undefined : tls.cert,
      // DoH (doh2, which each worker binds itself): GET /dns-query?dns=… over HTTP/2 sessions.
      dohPath: kind === "DoH" ? "/dns-query" : undefined,
      names: NAMES,
      qps,
      connections,
      seconds: 8,
    });
    await threeForcedReloads();
    const result = await load.done;
    expect(result.sent).toBe(qps * 8);
    // Replacing the workers really ended the connections they held: the client had to reconnect.
    expect(result.closedWithPending + result.closedIdle).toBeGreaterThanOrEqual(connections);
    expect({ lost: result.lost, answered: result.answered, failed: result.failed }).toEqual({
      lost: 0,
      answered: result.sent,
      failed: 0,
    });
  },
);
