/**
 * A time series chart (uPlot on a canvas) that follows its container's width. The canvas is
 * hidden from assistive technology: the figure's caption states the current values in text.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";

export interface Series {
  label: string;
  color: string;
  /** One value per time point; null where unknown. */
  values: (number | null)[];
}

export interface ChartProps {
  id: string;
  title: string;
  /** Seconds since the epoch, one per point. */
  times: number[];
  series: Series[];
  /** Text for the caption: the values now. */
  now: string;
  unit?: string;
  height?: number;
  yMax?: number;
}

export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = props.series.map((s) => `${s.label}:${s.color}`).join(",");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: props.height ?? 160,
      legend: { show: true, live: false },
      cursor: { show: false },
      scales: {
        x: { time: true },
        y:
          props.yMax !== undefined
            ? { range: [0, props.yMax] }
            : { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] },
      },
      axes: [
        { stroke: "#666", grid: { stroke: "#eee" } },
        { stroke: "#666", grid: { stroke: "#eee" }, size: 48 },
      ],
      series: [
        {},
        ...props.series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 1.5,
          spanGaps: false,
          points: { show: false },
        })),
      ],
    };
    const u = new uPlot(opts, [props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData, el);
    plot.current = u;
    const ro = new ResizeObserver(() =>
      u.setSize({ width: Math.max(200, el.clientWidth), height: props.height ?? 160 }),
    );
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
    // Rebuilt only when the series themselves change (a worker more or less); data goes through setData.
  }, [shape]);

  useEffect(() => {
    plot.current?.setData([props.times, ...props.series.map((s) => s.values)] as uPlot.AlignedData);
  });

  return (
    <figure class="chart" id={props.id} aria-labelledby={`${props.id}-title`}>
      <figcaption>
        <span id={`${props.id}-title`} class="chart-title">
          {props.title}
        </span>{" "}
        <output class="chart-now" data-testid={`${props.id}-now`}>
          {props.now}
        </output>
      </figcaption>
      <div ref={box} class="chart-plot" aria-hidden="true" />
    </figure>
  );
}
