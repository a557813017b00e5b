/**
 * The dashboard's live statistics (lib/manager/metrics/live.ts): rates from two readings of the same
 * worker process, one sampler shared by all listeners, running only while somebody listens.
 */
import { METRIC_KEYS } from "../../../lib/datamodel/sections/monitoring/render.js";
import type { MetricValues, WorkerReport } from "../../../lib/manager/metrics/index.js";
import { LiveStatistics, type LiveEvent } from "../../../lib/manager/metrics/live.js";

/** A worker's counters: the named ones set, the rest 0. */
function counters(set: Record<string, number>): MetricValues {
  return METRIC_KEYS.map((k) => set[k] ?? 0);
}

function report(id: string, pid: number, set?: Record<string, number>): WorkerReport<MetricValues> {
  return set === undefined ? { id, pid, error: "timeout" } : { id, pid, statistics: counters(set) };
}

const idle = { values: async () => [], state: async () => ({ status: {}, processes: [] }) };

describe("rates from consecutive readings", () => {
  it("has no rate at the first reading, then the counters' increase per second", () => {
    const live = new LiveStatistics(idle);
    const first = live.sampleOf(10_000, [
      report("kresd:kresd0", 10, {
        "request.total": 100,
        "answer.total": 100,
        "answer.noerror": 100,
        "answer.1ms": 100,
      }),
    ]);
    expect(first.qps).toBeNull();
    expect(first.workers).toEqual([{ id: "kresd:kresd0", pid: 10, qps: null }]);
    const second = live.sampleOf(12_000, [
      report("kresd:kresd0", 10, {
        "request.total": 140,
        "request.internal": 4,
        "answer.total": 136,
        "answer.cached": 34,
        "answer.noerror": 120,
        "answer.nxdomain": 16,
        "answer.1ms": 100,
        "answer.10ms": 36,
      }),
    ]);
    // 40 requests in 2 s, 4 of them the resolver's own: 18 q/s from clients.
    expect(second.qps).toBe(18);
    expect(second.workers).toEqual([{ id: "kresd:kresd0", pid: 10, qps: 18 }]);
    expect(second.answers).toEqual({ noerror: 10, nodata: 0, nxdomain: 8, servfail: 0 });
    expect(second.latency["1ms"]).toBe(0); // 100 before and after
    expect(second.latency["10ms"]).toBe(18);
    expect(second["cache-hit"]).toBeCloseTo(34 / 36);
  });

  it("adds up the workers; a restarted worker (new PID) starts over instead of counting backwards", () => {
    const live = new LiveStatistics(idle);
    live.sampleOf(0, [
      report("kresd:kresd0", 10, { "request.total": 50 }),
      report("kresd:kresd1", 11, { "request.total": 70 }),
    ]);
    const s = live.sampleOf(1000, [
      report("kresd:kresd0", 10, { "request.total": 60 }),
      report("kresd:kresd1", 12, { "request.total": 3 }),
    ]);
    expect(s.workers).toEqual([
      { id: "kresd:kresd0", pid: 10, qps: 10 },
      { id: "kresd:kresd1", pid: 12, qps: null },
    ]);
    expect(s.qps).toBe(10);
    const t = live.sampleOf(2000, [
      report("kresd:kresd0", 10, { "request.total": 60 }),
      report("kresd:kresd1", 12, { "request.total": 8 }),
    ]);
    expect(t.workers.map((w) => w.qps)).toEqual([0, 5]);
    expect(t.qps).toBe(5);
  });

  it("gives a worker without statistics no rate, and no cache ratio without answers", () => {
    const live = new LiveStatistics(idle);
    live.sampleOf(0, [report("kresd:kresd0", 10, {}), report("kresd:kresd1", 11)]);
    const s = live.sampleOf(1000, [report("kresd:kresd0", 10, {}), report("kresd:kresd1", 11)]);
    expect(s.workers.map((w) => w.qps)).toEqual([0, null]);
    expect(s["cache-hit"]).toBeNull();
  });
});

describe("one sampler for every listener", () => {
  const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it("starts with the first listener, ticks once for all of them, stops when the last leaves", async () => {
    let reads = 0;
    let total = 0;
    const live = new LiveStatistics(
      {
        values: async () => {
          reads++;
          total += 10;
          return [report("kresd:kresd0", 10, { "request.total": total })];
        },
        state: async () => ({ status: { etag: "a" }, processes: [] }),
      },
      { intervalMs: 20, keep: 3 },
    );
    await wait(60);
    expect(reads).toBe(0);
    expect(live.running).toBe(false);

    const seen: LiveEvent[][] = [[], [], []];
    const leave = seen.map((events) => live.subscribe((e) => events.push(e)));
    expect(live.running).toBe(true);
    await wait(150);
    const samples = (events: LiveEvent[]) => events.filter((e) => e.kind === "sample").length;
    // Three listeners, one reading per tick: each listener got every sample.
    expect(samples(seen[0]!)).toBeGreaterThanOrEqual(3);
    expect(reads).toBe(samples(seen[0]!));
    expect(samples(seen[1]!)).toBe(samples(seen[0]!));
    // The state went out once: it did not change.
    expect(seen[0]!.filter((e) => e.kind === "state")).toHaveLength(1);
    expect(live.backlog().samples).toHaveLength(3); // keep: 3

    leave[0]!();
    leave[1]!();
    expect(live.running).toBe(true);
    leave[2]!();
    expect(live.running).toBe(false);
    const after = reads;
    await wait(80);
    expect(reads).toBe(after);
    expect(live.backlog()).toEqual({ samples: [], state: undefined });
  });
});
