/** Live traffic: the samples of GET /v1/stream as charts (QPS, rcodes, cache hits) and the latency bands. */
import { Chart } from "./chart.js";
import type { LiveSample } from "./types.js";

const PALETTE = ["#1f6feb", "#d97706", "#16a34a", "#9333ea", "#dc2626", "#0891b2", "#4d7c0f", "#be185d"];
const RCODE_COLORS: Record<string, string> = {
  noerror: "#16a34a",
  nodata: "#0891b2",
  nxdomain: "#d97706",
  servfail: "#dc2626",
};
const LATENCY_LABELS: Record<string, string> = {
  "1ms": "≤ 1 ms",
  "10ms": "≤ 10 ms",
  "50ms": "≤ 50 ms",
  "100ms": "≤ 100 ms",
  "250ms": "≤ 250 ms",
  "500ms": "≤ 500 ms",
  "1000ms": "≤ 1 s",
  "1500ms": "≤ 1.5 s",
  slow: "> 1.5 s",
};

export function rate(v: number | null | undefined): string {
  if (v === null || v === undefined) return "–";
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** The mean of the last n samples' values (ignoring unknown ones): steadier than one second. */
function recent(samples: LiveSample[], pick: (s: LiveSample) => number | null, n = 5): number | null {
  const vs = samples
    .slice(-n)
    .map(pick)
    .filter((v): v is number => v !== null);
  return vs.length ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
}

export function Traffic(props: { samples: LiveSample[]; connected: boolean }) {
  const { samples } = props;
  const times = samples.map((s) => s.time / 1000);
  const last = samples[samples.length - 1];
  const workerIds = [...new Set(samples.flatMap((s) => s.workers.map((w) => w.id)))].sort();
  const qpsSeries = [
    { label: "total", color: "#111827", values: samples.map((s) => s.qps) },
    ...workerIds.map((id, i) => ({
      label: id.replace(/^kresd:/, ""),
      color: PALETTE[i % PALETTE.length] as string,
      values: samples.map((s) => s.workers.find((w) => w.id === id)?.qps ?? null),
    })),
  ];
  const rcodes = Object.keys(RCODE_COLORS).map((c) => ({
    label: c.toUpperCase(),
    color: RCODE_COLORS[c] as string,
    values: samples.map((s) => s.answers[c as keyof LiveSample["answers"]]),
  }));
  const hit = samples.map((s) => (s["cache-hit"] === null ? null : s["cache-hit"] * 100));
  const hitNow = recent(samples, (s) => s["cache-hit"]);
  const bands = Object.keys(LATENCY_LABELS) as (keyof LiveSample["latency"])[];
  const bandRates = bands.map((b) => recent(samples, (s) => s.latency[b]) ?? 0);
  const bandTotal = bandRates.reduce((a, b) => a + b, 0);
  return (
    <section aria-labelledby="traffic-title" class="panel">
      <h2 id="traffic-title">
        Live traffic{" "}
        <span class={`live ${props.connected ? "on" : "off"}`} role="status">
          {props.connected ? "live" : "reconnecting…"}
        </span>
      </h2>
      <div class="charts">
        <Chart
          id="qps"
          title="Queries per second"
          times={times}
          series={qpsSeries}
          now={`now ${rate(recent(samples, (s) => s.qps))} q/s`}
        />
        <Chart
          id="rcodes"
          title="Answers by rcode (per second)"
          times={times}
          series={rcodes}
          now={last ? rcodes.map((r) => `${r.label} ${rate(r.values[r.values.length - 1])}`).join(", ") : "–"}
        />
        <Chart
          id="cache-hit"
          title="Cache hit ratio (%)"
          times={times}
          series={[{ label: "hits", color: "#9333ea", values: hit }]}
          yMax={100}
          now={hitNow === null ? "no answers yet" : `now ${(hitNow * 100).toFixed(0)} %`}
        />
        <figure class="chart" aria-labelledby="latency-title">
          <figcaption>
            <span id="latency-title" class="chart-title">
              Latency (answers per band, last 5 s)
            </span>
          </figcaption>
          <ul class="bars" aria-labelledby="latency-title">
            {bands.map((b, i) => {
              const share = bandTotal > 0 ? (bandRates[i] as number) / bandTotal : 0;
              return (
                <li key={b}>
                  <span class="bar-label">{LATENCY_LABELS[b]}</span>
                  <span class="bar-track">
                    <span class="bar-fill" style={{ width: `${(share * 100).toFixed(1)}%` }} />
                  </span>
                  <span class="bar-value">{(share * 100).toFixed(0)} %</span>
                </li>
              );
            })}
          </ul>
        </figure>
      </div>
    </section>
  );
}
