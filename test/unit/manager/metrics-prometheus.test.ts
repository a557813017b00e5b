/**
 * Worker statistics as the API shows them: kresd 5.6's flat `stats.list()` nested as upstream
 * reports it (/metrics/json), and the Prometheus exposition with upstream's names (/metrics/prometheus).
 */
import type { WorkerReport } from "../../../lib/manager/metrics/collect.js";
import { renderPrometheus } from "../../../lib/manager/metrics/prometheus.js";
import { hasPromtool, promtoolProblems, samples } from "../../../harness/prometheus.js";
import { METRIC_KEYS } from "../../../lib/datamodel/sections/monitoring/render.js";
import {
  nestStatistics,
  parseMetricValues,
  parseStatisticsAnswer,
  StatisticsFormatError,
  type MetricValues,
  type WorkerStatistics,
} from "../../../lib/manager/metrics/statistics.js";

/** A real kresd 5.6 answer to `tojson(collect_statistics())` after a few queries. */
const RECORDED =
  `'{"request.xdp":0,"request.dot":0,"request.doh":0,"request.internal":0,"answer.total":5,` +
  `"answer.noerror":4,"answer.nodata":1,"answer.nxdomain":1,"answer.servfail":0,"answer.cached":2,` +
  `"answer.1ms":3,"answer.10ms":1,"answer.50ms":0,"answer.100ms":0,"answer.250ms":1,"answer.500ms":0,` +
  `"answer.1000ms":0,"answer.1500ms":0,"answer.slow":0,"answer.aa":2,"answer.tc":0,"answer.rd":5,` +
  `"answer.ra":5,"answer.ad":0,"answer.cd":0,"answer.edns0":3,"answer.do":0,"query.edns":3,` +
  `"query.dnssec":0,"request.total":6,"request.udp":5,"request.tcp":1}'`;

const recorded = (): WorkerStatistics => parseStatisticsAnswer(RECORDED);

/** kresd's flat counters as the answer to collect_metric_values() would give them, parsed. */
function values(flat: Record<string, number>): MetricValues {
  const answer = `'${METRIC_KEYS.map((k) => (k in flat ? String(flat[k]) : "-")).join(" ")}'`;
  return parseMetricValues(answer, METRIC_KEYS.length);
}
const RECORDED_FLAT = JSON.parse(RECORDED.slice(1, -1)) as Record<string, number>;

describe("statistics", () => {
  it("nests kresd's group.name counters as upstream reports them", () => {
    const s = recorded();
    expect(s.answer).toMatchObject({ total: 5, "1ms": 3, "250ms": 1, slow: 0, cached: 2 });
    expect(s.request).toEqual({ total: 6, udp: 5, tcp: 1, dot: 0, doh: 0, xdp: 0, internal: 0 });
    expect(s.query).toEqual({ edns: 3, dnssec: 0 });
  });

  it("splits at the first dot only, keeps plain keys, never lets a group overwrite a scalar", () => {
    expect(nestStatistics({ "a.b.c": 1, plain: 2, "x.y": 3, x: 4, "s.t": "text" })).toEqual({
      a: { "b.c": 1 },
      plain: 2,
      x: 4,
      "x.y": 3,
    });
  });

  it("decodes the Lua quoting of kresd's answer", () => {
    // \039 is ' and \092 is \ in kresd's printing of a Lua string (the JSON escapes \ itself).
    expect(parseStatisticsAnswer(`'{"custom.it\\039s":1,"custom.back\\092\\092slash":2}'`)).toEqual({
      custom: { "it's": 1, "back\\slash": 2 },
    });
  });

  it("refuses what is not statistics: a Lua error, not JSON, not an object", () => {
    for (const bad of [
      `[string "tojson(collect_statistics())"]:1: attempt to call nil`,
      "'oops'",
      "'[1,2]'",
      "nil",
    ])
      expect(() => parseStatisticsAnswer(bad)).toThrow(StatisticsFormatError);
  });
});

describe("metric values (the compact answer a Prometheus scrape asks for)", () => {
  it("reads the values in METRIC_KEYS order, '-' as a counter the worker does not keep", () => {
    expect(parseMetricValues("'1 - 2.5 1e+15 0'", 5)).toEqual([1, undefined, 2.5, 1e15, 0]);
    expect(parseMetricValues("'- -'", 2)).toEqual([undefined, undefined]);
  });

  it("reads Lua's spellings of infinities and NaN", () => {
    const v = parseMetricValues("'inf -inf nan -nan'", 4);
    expect(v.slice(0, 2)).toEqual([Infinity, -Infinity]);
    expect(v.slice(2).every((x) => Number.isNaN(x))).toBe(true);
  });

  it("refuses a Lua error, a wrong count, an unquoted or garbled answer", () => {
    for (const [bad, count] of [
      [`[string "collect_metric_values()"]:1: attempt to call global 'collect_metric_values'`, 1],
      ["'1 2'", 3],
      ["'1 2 3 4'", 3],
      ["1 2 3", 3],
      ["'1 x 3'", 3],
      ["'1  3'", 3],
      ["'", 1],
      ["''", 1],
    ] as const)
      expect(() => parseMetricValues(bad, count)).toThrow(StatisticsFormatError);
    expect(() => parseMetricValues(undefined, 1)).toThrow(/not metric values/);
  });
});

describe("Prometheus exposition", () => {
  const two: WorkerReport<MetricValues>[] = [
    { id: "kresd:kresd0", pid: 100, statistics: values(RECORDED_FLAT) },
    { id: "kresd:kresd1", pid: 101, statistics: values({ "answer.total": 1, "request.total": 1 }) },
  ];

  it("has upstream's counter names with an instance_id series per worker", () => {
    const s = samples(renderPrometheus(two));
    expect(s.get('resolver_request_total{instance_id="kresd:kresd0"}')).toBe("6");
    expect(s.get('resolver_request_total{instance_id="kresd:kresd1"}')).toBe("1");
    expect(s.get('resolver_request_udp_total{instance_id="kresd:kresd0"}')).toBe("5");
    expect(s.get('resolver_answer_cached_total{instance_id="kresd:kresd0"}')).toBe("2");
    expect(s.get('resolver_answer_rcode_nxdomain_total{instance_id="kresd:kresd0"}')).toBe("1");
    expect(s.get('resolver_answer_flags_rd_total{instance_id="kresd:kresd0"}')).toBe("5");
    expect(s.get('resolver_answer_flag_edns0_total{instance_id="kresd:kresd0"}')).toBe("3");
    expect(s.get('resolver_query_edns_total{instance_id="kresd:kresd0"}')).toBe("3");
  });

  it("writes each family once, HELP and TYPE first, with the series of every worker", () => {
    const text = renderPrometheus(two);
    const lines = text.split("\n");
    const help = lines.filter((l) => l.startsWith("# HELP resolver_answer_total "));
    expect(help).toEqual(["# HELP resolver_answer_total total number of answered queries"]);
    const at = lines.indexOf("# TYPE resolver_answer_total counter");
    expect(lines.indexOf(help[0] as string)).toBe(at - 1);
    expect(lines.slice(at + 1, at + 3)).toEqual([
      'resolver_answer_total{instance_id="kresd:kresd0"} 5',
      'resolver_answer_total{instance_id="kresd:kresd1"} 1',
    ]);
    expect(text.endsWith("\n")).toBe(true);
  });

  it("leaves out counters a worker's kresd does not keep (kresd 5.6: answer.stale, predict.*)", () => {
    const text = renderPrometheus(two);
    expect(text).not.toContain("resolver_answer_stale_total");
    expect(text).not.toContain("resolver_predict_");
    expect(text).not.toContain('resolver_request_udp_total{instance_id="kresd:kresd1"}');
    const withPredict = renderPrometheus([
      {
        id: "kresd:kresd0",
        pid: 1,
        statistics: values({ "predict.epoch": 7, "predict.queue": 2, "predict.learned": 9 }),
      },
    ]);
    expect(samples(withPredict).get('resolver_predict_epoch_total{instance_id="kresd:kresd0"}')).toBe("7");
    expect(withPredict).toContain("# TYPE resolver_predict_learned_total counter");
  });

  it("makes kresd's latency bands a cumulative histogram in seconds with upstream's bounds", () => {
    const s = samples(renderPrometheus(two));
    const bucket = (le: string) =>
      s.get(`resolver_response_latency_bucket{instance_id="kresd:kresd0",le="${le}"}`);
    expect(["0.001", "0.01", "0.05", "0.1", "0.25", "0.5", "1.0", "1.5", "+Inf"].map(bucket)).toEqual([
      "3",
      "4",
      "4",
      "4",
      "5",
      "5",
      "5",
      "5",
      "5",
    ]);
    expect(s.get('resolver_response_latency_count{instance_id="kresd:kresd0"}')).toBe("5");
    // kresd 5.6 keeps no answer.sum_ms: no _sum rather than a made-up one.
    expect([...s.keys()].some((k) => k.startsWith("resolver_response_latency_sum"))).toBe(false);
    // A worker without the bands has no histogram at all.
    expect([...s.keys()].some((k) => k.includes('latency_bucket{instance_id="kresd:kresd1"'))).toBe(false);
  });

  it("adds _sum in seconds when kresd reports answer.sum_ms", () => {
    const bands = Object.fromEntries(
      ["1ms", "10ms", "50ms", "100ms", "250ms", "500ms", "1000ms", "1500ms", "slow"].map((b) => [
        `answer.${b}`,
        1,
      ]),
    );
    const text = renderPrometheus([
      { id: "kresd:kresd0", pid: 1, statistics: values({ ...bands, "answer.sum_ms": 2500 }) },
    ]);
    expect(samples(text).get('resolver_response_latency_sum{instance_id="kresd:kresd0"}')).toBe("2.5");
    expect(samples(text).get('resolver_response_latency_count{instance_id="kresd:kresd0"}')).toBe("9");
  });

  it("says per worker whether its statistics were loaded; a worker without any has only that", () => {
    const text = renderPrometheus([
      two[0] as WorkerReport<MetricValues>,
      { id: "kresd:kresd1", pid: 101, error: "timed out" },
    ]);
    const s = samples(text);
    expect(s.get('resolver_metrics_loaded{instance_id="kresd:kresd0"}')).toBe("1");
    expect(s.get('resolver_metrics_loaded{instance_id="kresd:kresd1"}')).toBe("0");
    expect([...s.keys()].filter((k) => k.includes("kresd:kresd1"))).toEqual([
      'resolver_metrics_loaded{instance_id="kresd:kresd1"}',
    ]);
    expect(text).toContain("# TYPE resolver_metrics_loaded gauge");
  });

  it("escapes label values", () => {
    const text = renderPrometheus([{ id: 'odd"\\\nid', pid: 1 }]);
    expect(text).toContain('resolver_metrics_loaded{instance_id="odd\\"\\\\\\nid"} 0');
  });

  it("is empty without workers", () => {
    expect(renderPrometheus([])).toBe("");
  });

  (hasPromtool() ? it : it.skip)("passes promtool check metrics (Debian package prometheus)", () => {
    const text = renderPrometheus([...two, { id: "kresd:kresd2", pid: 102, error: "gone" }]);
    expect(promtoolProblems(text)).toEqual([]);
  });
});
