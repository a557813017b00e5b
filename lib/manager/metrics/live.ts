/**
 * The dashboard's live statistics: one sampler shared by every open dashboard (GET /v1/stream).
 * Its timer runs only while somebody listens: started by the first subscriber, stopped when the
 * last one leaves, so a manager nobody watches asks its workers nothing. Each tick reads the same
 * counters a Prometheus scrape reads (WorkerMetrics.values) and turns two consecutive readings of
 * the same worker process into rates.
 */
import { METRIC_KEYS } from "../../datamodel/sections/monitoring/render.js";
import type { WorkerReport } from "./collect.js";
import type { MetricValues } from "./statistics.js";

/** Answers by rcode, as kresd counts them. */
export const RCODES = ["noerror", "nodata", "nxdomain", "servfail"] as const;
/** kresd's latency bands (answer.<band>), fastest first; 'slow' is over 1.5 s. */
export const LATENCY_BANDS = [
  "1ms",
  "10ms",
  "50ms",
  "100ms",
  "250ms",
  "500ms",
  "1000ms",
  "1500ms",
  "slow",
] as const;

/** One tick: rates over the time since the previous one (null where there is no previous reading). */
export interface LiveSample {
  /** Milliseconds since the epoch. */
  time: number;
  /** Queries per second per worker ('kresd:kresd0' …), with the PID the counters came from. */
  workers: { id: string; pid: number; qps: number | null }[];
  /** Queries per second, every worker. */
  qps: number | null;
  /** Answers per second by rcode. */
  answers: Record<(typeof RCODES)[number], number | null>;
  /** Answers per second by latency band. */
  latency: Record<(typeof LATENCY_BANDS)[number], number | null>;
  /** Share of answers from the cache over the interval (null without answers). */
  "cache-hit": number | null;
}

/** What the live view pushes besides samples: the status and the processes, when they change. */
export interface LiveState {
  status: unknown;
  processes: unknown;
}

export type LiveEvent = { kind: "sample"; sample: LiveSample } | { kind: "state"; state: LiveState };

export interface LiveSource {
  /** Every running worker's counters (WorkerMetrics.values). */
  values: () => Promise<WorkerReport<MetricValues>[]>;
  /** The status and process list as GET / and GET /processes answer them. */
  state: () => Promise<LiveState>;
}

export interface LiveOptions {
  intervalMs: number;
  /** Samples kept for a dashboard that opens later (the last minutes). */
  keep: number;
}

/** One sample a second, five minutes kept. */
export const LIVE_DEFAULTS: LiveOptions = { intervalMs: 1000, keep: 300 };

const INDEX = new Map(METRIC_KEYS.map((k, i) => [k, i]));

function counter(values: MetricValues | undefined, key: string): number | undefined {
  return values?.[INDEX.get(key) as number];
}

type Listener = (event: LiveEvent) => void;

export class LiveStatistics {
  private readonly listeners = new Set<Listener>();
  private readonly samples: LiveSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private previous = new Map<number, { time: number; values: MetricValues }>();
  private lastState: string | undefined;
  private lastStateValue: LiveState | undefined;
  private ticking = false;

  constructor(
    private readonly source: LiveSource,
    private readonly opts: LiveOptions = LIVE_DEFAULTS,
  ) {}

  /** Whether the timer runs (somebody listens). */
  get running(): boolean {
    return this.timer !== undefined;
  }

  get subscribers(): number {
    return this.listeners.size;
  }

  /** The samples kept, oldest first, and the last state (what a new dashboard starts from). */
  backlog(): { samples: LiveSample[]; state: LiveState | undefined } {
    return { samples: [...this.samples], state: this.lastStateValue };
  }

  /** Adds a listener; returns the function that removes it. The first one starts the timer. */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.timer === undefined) {
      this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
      void this.tick();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    // A later dashboard starts afresh: rates across the pause would be averages, not the present.
    this.samples.length = 0;
    this.previous.clear();
    this.lastState = undefined;
    this.lastStateValue = undefined;
  }

  /** One reading; a tick that finds the previous one still running is skipped (a slow worker). */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const [reports, state] = await Promise.all([
        this.source.values().catch(() => []),
        this.source.state().catch(() => undefined),
      ]);
      if (this.timer === undefined) return; // everybody left meanwhile
      const sample = this.sampleOf(Date.now(), reports);
      this.samples.push(sample);
      if (this.samples.length > this.opts.keep) this.samples.shift();
      this.emit({ kind: "sample", sample });
      if (state !== undefined) {
        const text = JSON.stringify(state);
        if (text !== this.lastState) {
          this.lastState = text;
          this.lastStateValue = state;
          this.emit({ kind: "state", state });
        }
      }
    } finally {
      this.ticking = false;
    }
  }

  private emit(event: LiveEvent): void {
    for (const l of this.listeners) l(event);
  }

  /** Rates from this reading and the previous one of the same process (a restarted worker starts over). */
  sampleOf(time: number, reports: readonly WorkerReport<MetricValues>[]): LiveSample {
    const next = new Map<number, { time: number; values: MetricValues }>();
    const sums = new Map<string, number>();
    let any = false;
    const workers = reports.map((r) => {
      const values = r.statistics;
      if (values === undefined) return { id: r.id, pid: r.pid, qps: null };
      next.set(r.pid, { time, values });
      const before = this.previous.get(r.pid);
      if (before === undefined || time <= before.time) return { id: r.id, pid: r.pid, qps: null };
      const seconds = (time - before.time) / 1000;
      const rate = (key: string): number | undefined => {
        const now = counter(values, key);
        const then = counter(before.values, key);
        if (now === undefined || then === undefined || now < then) return undefined;
        return (now - then) / seconds;
      };
      any = true;
      for (const key of ["request.total", "request.internal", "answer.total", "answer.cached"].concat(
        RCODES.map((c) => `answer.${c}`),
        LATENCY_BANDS.map((b) => `answer.${b}`),
      )) {
        const v = rate(key);
        if (v !== undefined) sums.set(key, (sums.get(key) ?? 0) + v);
      }
      const total = rate("request.total");
      const internal = rate("request.internal") ?? 0;
      return { id: r.id, pid: r.pid, qps: total === undefined ? null : Math.max(0, total - internal) };
    });
    this.previous = next;
    const sum = (key: string): number | null => (any ? (sums.get(key) ?? 0) : null);
    const answers = sum("answer.total");
    const cached = sum("answer.cached");
    const qpsAll = sum("request.total");
    return {
      time,
      workers,
      qps: qpsAll === null ? null : Math.max(0, qpsAll - (sum("request.internal") ?? 0)),
      answers: Object.fromEntries(RCODES.map((c) => [c, sum(`answer.${c}`)])) as LiveSample["answers"],
      latency: Object.fromEntries(LATENCY_BANDS.map((b) => [b, sum(`answer.${b}`)])) as LiveSample["latency"],
      "cache-hit": answers !== null && answers > 0 && cached !== null ? Math.min(1, cached / answers) : null,
    };
  }
}
