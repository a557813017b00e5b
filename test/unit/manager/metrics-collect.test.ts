/**
 * Collecting the workers' statistics: every running worker (not the canary) is asked over its
 * control socket at once; one that does not answer in time is reported missing, never waited for.
 * The workers here are fake control sockets speaking kresd 5.6's protocol.
 */
import * as fs from "node:fs";
import { METRIC_KEYS } from "../../../lib/datamodel/sections/monitoring/render.js";
import * as path from "node:path";
import { CANARY_SLOT, type SubprocessStatus } from "../../../lib/controller/interface.js";
import { KresdCommands } from "../../../lib/controller/kresd/commands.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { logger } from "../../../lib/manager/logger.js";
import { collectStatistics, metricsWorkers } from "../../../lib/manager/metrics/collect.js";
import { WorkerMetrics } from "../../../lib/manager/metrics/index.js";
import { parseStatisticsAnswer } from "../../../lib/manager/metrics/statistics.js";
import { FakeControlSocket } from "../../../harness/fake-control-socket.js";
import { testRundir } from "../../../harness/validation.js";

logger.silent = true;
const rundir = testRundir("krm-metrics-");
fs.mkdirSync(path.join(rundir, "control"));
/** The controller's command() for the fake workers in rundir. */
const control = new KresdCommands(rundir);
const command = control.command.bind(control);

type Behaviour = "answer" | "hang" | "lua-error";

/** A fake kresd control socket RUNDIR/control/<pid> answering statistics questions as `behaviour` says. */
function fakeWorker(pid: number, behaviour: Behaviour, answer = `'{"answer.total":${pid},"request.udp":1}'`) {
  return new FakeControlSocket(path.join(rundir, "control", String(pid)), {
    hang: behaviour === "hang",
    answer: (line) =>
      behaviour !== "answer"
        ? "[string]:1: attempt to call a nil value"
        : line === "collect_metric_values()"
          ? metricValues(answer)
          : answer,
  });
}

/** The compact answer kresd gives to collect_metric_values() for the counters of a JSON answer. */
function metricValues(jsonAnswer: string): string {
  const flat = JSON.parse(jsonAnswer.slice(1, -1)) as Record<string, number>;
  return `'${METRIC_KEYS.map((k) => (k in flat ? String(flat[k]) : "-")).join(" ")}'`;
}

const workers: FakeControlSocket[] = [];
async function fake(pid: number, behaviour: Behaviour, answer?: string): Promise<FakeControlSocket> {
  const w = fakeWorker(pid, behaviour, answer);
  await w.listen();
  workers.push(w);
  return w;
}
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close()));
});

function kresd(
  id: number,
  pid: number | undefined,
  state: SubprocessStatus["state"] = "running",
): SubprocessStatus {
  return { name: `kresd:kresd${id}`, kind: "kresd", id, pid, state, startedAt: 1 };
}

describe("which workers count", () => {
  it("running kresd in slots below `workers`, by slot; not the canary, stopped slots or cache-gc", () => {
    const processes: SubprocessStatus[] = [
      kresd(1, 201),
      kresd(0, 200),
      kresd(2, undefined, "stopped"),
      kresd(3, 203, "starting"),
      kresd(CANARY_SLOT, 204),
      { name: "cache-gc", kind: "cache-gc", pid: 300, state: "running", startedAt: 1 },
      { name: "manager", kind: "manager", pid: 301, state: "running", startedAt: 1 },
    ];
    expect(metricsWorkers(processes, 4)).toEqual([
      { id: "kresd:kresd0", pid: 200 },
      { id: "kresd:kresd1", pid: 201 },
    ]);
  });
});

describe("collecting", () => {
  it("sends the query alone on each worker's control socket and nests the answers", async () => {
    const a = await fake(1001, "answer");
    const b = await fake(1002, "answer");
    const reports = await collectStatistics(
      [
        { id: "kresd:kresd0", pid: 1001 },
        { id: "kresd:kresd1", pid: 1002 },
      ],
      "tojson(collect_statistics())",
      { command, parse: parseStatisticsAnswer },
    );
    expect(reports).toEqual([
      { id: "kresd:kresd0", pid: 1001, statistics: { answer: { total: 1001 }, request: { udp: 1 } } },
      { id: "kresd:kresd1", pid: 1002, statistics: { answer: { total: 1002 }, request: { udp: 1 } } },
    ]);
    expect([a.lines, b.lines]).toEqual([["tojson(collect_statistics())"], ["tojson(collect_statistics())"]]);
  });

  it("asks all workers at once: three hung workers cost one timeout, not three", async () => {
    for (const pid of [1011, 1012, 1013]) await fake(pid, "hang");
    await fake(1014, "answer");
    const started = Date.now();
    const reports = await collectStatistics(
      [1011, 1012, 1013, 1014].map((pid, i) => ({ id: `kresd:kresd${i}`, pid })),
      "q()",
      { command, timeoutMs: 2000, parse: parseStatisticsAnswer },
    );
    const took = Date.now() - started;
    // One after another would take 3 × 2 s; at once, one timeout and some slack for a busy machine.
    expect(took).toBeGreaterThanOrEqual(1900);
    expect(took).toBeLessThan(5000);
    expect(reports.map((r) => [r.id, r.statistics !== undefined])).toEqual([
      ["kresd:kresd0", false],
      ["kresd:kresd1", false],
      ["kresd:kresd2", false],
      ["kresd:kresd3", true],
    ]);
    expect(reports[0]?.error).toMatch(/no answer within 2000 ms/);
  });

  it("reports a vanished worker (no socket) and one answering a Lua error as missing", async () => {
    await fake(1021, "lua-error");
    const reports = await collectStatistics(
      [
        { id: "kresd:kresd0", pid: 1021 },
        { id: "kresd:kresd1", pid: 1029 },
      ],
      "q()",
      { command, parse: parseStatisticsAnswer },
    );
    expect(reports[0]).toMatchObject({ id: "kresd:kresd0", error: expect.stringMatching(/not statistics/) });
    expect(reports[1]).toMatchObject({
      id: "kresd:kresd1",
      error: expect.stringMatching(/ENOENT/),
      gone: true,
    });
    expect(reports.some((r) => r.statistics)).toBe(false);
  });
});

describe("WorkerMetrics", () => {
  const metrics = (monitoring: string, processes: SubprocessStatus[], timeoutMs?: number) => {
    const cfg = validateConfig({ rundir, workers: 2, monitoring: { metrics: monitoring } });
    return new WorkerMetrics({ config: () => cfg, processes: async () => processes, command, timeoutMs });
  };

  it("JSON: every running worker by ID, null for one that gave nothing in time", async () => {
    await fake(1031, "answer");
    await fake(1032, "hang");
    const json = await metrics("lazy", [kresd(0, 1031), kresd(1, 1032), kresd(2, 1033)], 300).json();
    expect(json).toEqual({
      "kresd:kresd0": { answer: { total: 1031 }, request: { udp: 1 } },
      "kresd:kresd1": null,
    });
  });

  it("manager-only: no worker is asked; JSON has null for each, Prometheus only metrics_loaded 0", async () => {
    const w = await fake(1041, "answer");
    const m = metrics("manager-only", [kresd(0, 1041), kresd(1, 1042)]);
    expect(await m.json()).toEqual({ "kresd:kresd0": null, "kresd:kresd1": null });
    expect(await m.prometheus()).toBe(
      [
        "# HELP resolver_metrics_loaded 0 if metrics from resolver instance were not loaded, otherwise 1",
        "# TYPE resolver_metrics_loaded gauge",
        'resolver_metrics_loaded{instance_id="kresd:kresd0"} 0',
        'resolver_metrics_loaded{instance_id="kresd:kresd1"} 0',
        "",
      ].join("\n"),
    );
    expect(w.lines).toEqual([]);
  });

  it("always and lazy ask with statisticsQuery() for JSON, and only the exposed values for Prometheus", async () => {
    const w = await fake(1051, "answer");
    const m = metrics("always", [kresd(0, 1051)]);
    const text = await m.prometheus();
    expect(text).toContain('resolver_answer_total{instance_id="kresd:kresd0"} 1051');
    expect(text).toContain('resolver_request_udp_total{instance_id="kresd:kresd0"} 1');
    expect(text).not.toContain("resolver_answer_cached_total"); // '-': a counter it does not keep
    expect((await m.json())["kresd:kresd0"]).toEqual({ answer: { total: 1051 }, request: { udp: 1 } });
    expect(w.lines).toEqual(["collect_metric_values()", "tojson(collect_statistics())"]);
  });
});

describe("WorkerMetrics between requests", () => {
  const cfg = validateConfig({ rundir, workers: 2 });

  it("keeps one connection per worker and lists the workers once while they stay the same", async () => {
    const a = await fake(1061, "answer");
    const b = await fake(1062, "answer");
    let listed = 0;
    const m = new WorkerMetrics({
      config: () => cfg,
      processes: async () => (listed++, [kresd(0, 1061), kresd(1, 1062)]),
      command,
    });
    for (let i = 0; i < 5; i++) expect(Object.keys(await m.json())).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    expect([listed, a.connections, b.connections]).toEqual([1, 1, 1]);
    expect(a.lines).toHaveLength(5);
    control.close();
  });

  it("asks again on a fresh connection when kresd dropped the kept one", async () => {
    const a = await fake(1071, "answer");
    const m = new WorkerMetrics({
      config: () => validateConfig({ rundir, workers: 1 }),
      processes: async () => [kresd(0, 1071)],
      command,
    });
    expect((await m.json())["kresd:kresd0"]).not.toBeNull();
    a.hangUp();
    expect((await m.json())["kresd:kresd0"]).not.toBeNull();
    expect(a.connections).toBe(2);
    control.close();
  });

  it("lists the workers again when one of the remembered ones is gone (a slot restarted)", async () => {
    await fake(1081, "answer");
    const old = await fake(1082, "answer");
    let processes = [kresd(0, 1081), kresd(1, 1082)];
    let listed = 0;
    const m = new WorkerMetrics({ config: () => cfg, processes: async () => (listed++, processes), command });
    expect((await m.json())["kresd:kresd1"]).toEqual({ answer: { total: 1082 }, request: { udp: 1 } });
    await old.close();
    workers.splice(workers.indexOf(old), 1);
    await fake(1083, "answer");
    processes = [kresd(0, 1081), kresd(1, 1083)];
    expect(await m.json()).toEqual({
      "kresd:kresd0": { answer: { total: 1081 }, request: { udp: 1 } },
      "kresd:kresd1": { answer: { total: 1083 }, request: { udp: 1 } },
    });
    expect(listed).toBe(2);
    control.close();
  });

  it("does not remember an incomplete list (a slot still starting)", async () => {
    await fake(1091, "answer");
    let listed = 0;
    const m = new WorkerMetrics({
      config: () => cfg,
      processes: async () => (listed++, [kresd(0, 1091), kresd(1, 1092, "starting")]),
      command,
    });
    expect(await m.json()).toEqual({ "kresd:kresd0": { answer: { total: 1091 }, request: { udp: 1 } } });
    await m.json();
    expect(listed).toBe(2);
    control.close();
  });

  it("answers concurrent requests, each worker asked once per request", async () => {
    const a = await fake(1101, "answer");
    const m = new WorkerMetrics({
      config: () => validateConfig({ rundir, workers: 1 }),
      processes: async () => [kresd(0, 1101)],
      command,
    });
    const all = await Promise.all([m.json(), m.prometheus(), m.json()]);
    expect(all[0]).toEqual(all[2]);
    expect(a.lines).toHaveLength(3);
    control.close();
  });
});
