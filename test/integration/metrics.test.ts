/**
 * Worker statistics through the management API of a real knot-resolver (supervisord, manager, three
 * kresd 5.6 workers): /metrics/json and /metrics/prometheus as upstream answers them, a hung worker
 * reported missing within the per-worker timeout, graphite lines from every worker, and monitoring
 * 'manager-only'.
 */
import { jest } from "@jest/globals";
import * as net from "node:net";
import { controlCall, freePort, kdigAt, waitFor } from "../../harness/index.js";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import { promtoolProblems, samples } from "../../harness/prometheus.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

const WORKERS = ["kresd:kresd0", "kresd:kresd1", "kresd:kresd2"];
/** The manager's per-worker timeout (lib/manager/metrics) and what the test allows on top of it. */
const WORKER_TIMEOUT_MS = 2000;
const SLACK_MS = 1500;

type Stats = Record<string, Record<string, number>>;

let r: Resolver;
let graphite: net.Server;
let graphitePort: number;
const graphiteLines: string[] = [];
const api = (path: string): Promise<ApiResponse> => apiCall(r.apiSocket, "GET", path, { timeoutMs: 30_000 });

async function metricsJson(): Promise<Record<string, Stats | null>> {
  const res = await api("/metrics/json");
  expect(res.status).toBe(200);
  return res.json as Record<string, Stats | null>;
}

/** PIDs of the running kresd workers by name, as supervisord sees them (the canary is not running). */
async function workerPids(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, row] of await r.status())
    if (name.startsWith("kresd:") && row.state === "RUNNING" && row.pid) out.set(name, row.pid);
  return out;
}

beforeAll(async () => {
  // A graphite server (plain TCP, one metric per line) for the workers to report to.
  graphite = net.createServer((sock) => {
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      const lines = buf.split("\n");
      buf = lines.pop() ?? "";
      graphiteLines.push(...lines);
    });
    sock.on("error", () => undefined);
  });
  graphitePort = await freePort();
  await new Promise<void>((resolve) => graphite.listen(graphitePort, "127.0.0.1", resolve));
  r = await startResolver({
    config: {
      workers: 3,
      monitoring: { metrics: "lazy" },
    },
  });
});
afterAll(async () => {
  await r?.stop();
  await new Promise((resolve) => graphite?.close(resolve));
});

describe("/metrics", () => {
  it("moves permanently to /metrics/json, as upstream", async () => {
    const res = await api("/metrics");
    expect([res.status, res.headers.location]).toEqual([301, "/metrics/json"]);
  });
});

describe("/metrics/json", () => {
  it("is JSON keyed by worker ID, one entry per running worker (not the canary)", async () => {
    // 'lazy': the stats module loads with the first request for metrics.
    const pids = await workerPids();
    for (const pid of pids.values())
      expect(await controlCall(`${r.rundir}/control/${pid}`, ["stats == nil"])).toEqual(["true"]);
    const res = await api("/metrics/json");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect([...(await workerPids()).keys()].sort()).toEqual(WORKERS);
    const json = res.json as Record<string, Stats>;
    expect(Object.keys(json).sort()).toEqual(WORKERS);
    for (const id of WORKERS) {
      expect(json[id]?.answer).toMatchObject({ total: expect.any(Number), "1ms": expect.any(Number) });
      expect(json[id]?.request).toMatchObject({ total: expect.any(Number), udp: expect.any(Number) });
    }
  });

  it("has counters that grow with the queries the workers answer", async () => {
    const total = (json: Record<string, Stats | null>, group: string, name: string): number =>
      WORKERS.reduce((sum, id) => sum + (json[id]?.[group]?.[name] ?? 0), 0);
    const before = await metricsJson();
    const QUERIES = 12;
    for (let i = 0; i < QUERIES; i++) expect((await kdigAt(r.port, "localhost", "A")).rcode).toBe("NOERROR");
    const after = await metricsJson();
    expect(total(after, "request", "udp") - total(before, "request", "udp")).toBeGreaterThanOrEqual(QUERIES);
    expect(total(after, "answer", "noerror") - total(before, "answer", "noerror")).toBeGreaterThanOrEqual(
      QUERIES,
    );
  });
});

describe("/metrics/prometheus", () => {
  it("passes promtool check metrics and has a series per worker, with upstream's names", async () => {
    await kdigAt(r.port, "localhost", "A");
    const res = await api("/metrics/prometheus");
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(promtoolProblems(res.text)).toEqual([]);
    const s = samples(res.text);
    for (const id of WORKERS) {
      const l = `{instance_id="${id}"}`;
      expect(s.get(`resolver_metrics_loaded${l}`)).toBe("1");
      for (const name of [
        "resolver_request_total",
        "resolver_answer_total",
        "resolver_response_latency_count",
      ])
        expect(Number(s.get(name + l))).toBeGreaterThanOrEqual(0);
      expect(s.has(`resolver_response_latency_bucket{instance_id="${id}",le="+Inf"}`)).toBe(true);
    }
    expect(res.text).toContain("# TYPE resolver_response_latency histogram");
    expect(res.text).toContain("# TYPE resolver_request_total counter");
  });

  it("shows the same counts as /metrics/json (it asks the workers for just these values)", async () => {
    for (let i = 0; i < 6; i++) await kdigAt(r.port, "localhost", "A");
    const json = (await api("/metrics/json")).json as Record<string, { answer: Record<string, number> }>;
    const s = samples((await api("/metrics/prometheus")).text);
    const total = (id: string) => Number(s.get(`resolver_answer_total{instance_id="${id}"}`));
    const sum = WORKERS.reduce((n, id) => n + total(id), 0);
    expect(sum).toBeGreaterThanOrEqual(6);
    for (const id of WORKERS) expect(total(id)).toBeGreaterThanOrEqual(json[id]?.answer.total ?? NaN);
  });
});

describe("a hung worker", () => {
  it("is reported missing within the per-worker timeout; back once it runs again", async () => {
    const pid = (await workerPids()).get("kresd:kresd1") as number;
    process.kill(pid, "SIGSTOP");
    try {
      let started = Date.now();
      const json = await metricsJson();
      expect(Date.now() - started).toBeLessThan(WORKER_TIMEOUT_MS + SLACK_MS);
      expect(json["kresd:kresd1"]).toBeNull();
      expect(json["kresd:kresd0"]?.answer?.total).toEqual(expect.any(Number));
      expect(json["kresd:kresd2"]?.answer?.total).toEqual(expect.any(Number));

      started = Date.now();
      const res = await api("/metrics/prometheus");
      expect(Date.now() - started).toBeLessThan(WORKER_TIMEOUT_MS + SLACK_MS);
      const s = samples(res.text);
      expect(s.get('resolver_metrics_loaded{instance_id="kresd:kresd1"}')).toBe("0");
      expect([...s.keys()].filter((k) => k.includes('"kresd:kresd1"'))).toEqual([
        'resolver_metrics_loaded{instance_id="kresd:kresd1"}',
      ]);
      expect(s.get('resolver_metrics_loaded{instance_id="kresd:kresd0"}')).toBe("1");
      expect(promtoolProblems(res.text)).toEqual([]);
    } finally {
      process.kill(pid, "SIGCONT");
    }
    const json = await metricsJson();
    expect(json["kresd:kresd1"]?.answer?.total).toEqual(expect.any(Number));
    expect((await workerPids()).get("kresd:kresd1")).toBe(pid);
  });
});

describe("graphite", () => {
  it("receives every worker's metrics under '<prefix>.<worker id>'", async () => {
    const before = await workerPids();
    const put = await apiCall(r.apiSocket, "PUT", "/v1/config/monitoring/graphite", {
      body: {
        enable: true,
        host: "127.0.0.1",
        port: graphitePort,
        prefix: "krm",
        interval: "500ms",
        tcp: true,
      },
    });
    expect(put.status).toBe(200);
    // Each worker reports under its slot (the canary of the change, slot 4, did too while it ran).
    await waitFor(
      "graphite lines from all three workers",
      () => {
        const ids = new Set<string>();
        for (const line of graphiteLines) {
          const m = /^krm\.(\d+)\.answer\.total (\d+) (\d+)$/.exec(line);
          if (m) ids.add(m[1] as string);
        }
        return ["0", "1", "2"].every((id) => ids.has(id)) ? true : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100 },
    );
    // kresd's built-in worker and cache statistics come along.
    expect(graphiteLines.some((l) => /^krm\.\d+\.worker\.queries \d+ \d+$/.test(l))).toBe(true);
    expect(graphiteLines.some((l) => /^krm\.\d+\.cache\.\w+ [\d.]+ \d+$/.test(l))).toBe(true);

    // The change replaced every worker; the metrics follow them.
    const after = await workerPids();
    expect([...after.values()].filter((pid) => [...before.values()].includes(pid))).toEqual([]);
    const json = await metricsJson();
    expect(Object.keys(json).sort()).toEqual(WORKERS);
    for (const id of WORKERS) expect(json[id]?.answer?.total).toEqual(expect.any(Number));
  });
});

describe("monitoring 'manager-only'", () => {
  it("asks no worker: JSON null for each, Prometheus only resolver_metrics_loaded 0", async () => {
    const put = await apiCall(r.apiSocket, "PUT", "/v1/config/monitoring/metrics", { body: "manager-only" });
    expect(put.status).toBe(200);
    const json = await metricsJson();
    expect(json).toEqual(Object.fromEntries(WORKERS.map((id) => [id, null])));
    const res = await api("/metrics/prometheus");
    expect(res.status).toBe(200);
    expect(res.text).toBe(
      [
        "# HELP resolver_metrics_loaded 0 if metrics from resolver instance were not loaded, otherwise 1",
        "# TYPE resolver_metrics_loaded gauge",
        ...WORKERS.map((id) => `resolver_metrics_loaded{instance_id="${id}"} 0`),
        "",
      ].join("\n"),
    );
    expect(promtoolProblems(res.text)).toEqual([]);
  });
});
