/**
 * A DNS load over TCP or TLS (DoT) from a client that behaves as RFC 7766 asks of one, for tests and
 * benchmarks. dnsperf 2.10 does not: it ignores a connection the server closed (it reconnects only
 * when a later send fails) and never resends the queries left unanswered on it, so every server
 * close costs it at least one query whatever the server does; its DoT mode even gives up.
 *
 * This client keeps `connections` connections open and spreads `qps` queries a second over them.
 * When the server closes a connection it reconnects at once and sends the queries still unanswered
 * on the new one (RFC 7766 §6.2.4). A query counts as lost when no answer came within `timeoutMs`
 * of its first sending, resending included (as dnsperf's timeout counts one lost); an answer that
 * comes later does not save it.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";
import { dnsQuery } from "./dns-probe.js";

export interface StreamLoadOptions {
  port: number;
  /** DoT: the CA file that signed the server's certificate (for 'localhost'); plain TCP when absent. */
  tlsCa?: string;
  /** Query names (A queries), cycled through. */
  names: readonly string[];
  qps: number;
  seconds: number;
  connections: number;
  /** How long a query may wait for its answer, resending included (default 2000 ms). */
  timeoutMs?: number;
  /** Sendings of one query at most, the first included (default 3). */
  maxTries?: number;
}

export interface StreamLoadResult {
  /** Queries sent (each counted once, however often it was resent). */
  sent: number;
  /** Answered within the timeout. */
  answered: number;
  /** Not answered within the timeout. */
  lost: number;
  /** Answers with an RCODE other than NOERROR (they count as answered). */
  failed: number;
  /** Sendings repeated on a new connection because the old one closed before the answer came. */
  resent: number;
  /** Connections the server closed (or reset) with queries of ours unanswered on them. */
  closedWithPending: number;
  /** Connections the server closed (or reset) while nothing of ours was unanswered on them. */
  closedIdle: number;
  /** Connections opened, the first `connections` included. */
  opened: number;
  /** The slowest answer that came in time, from the first sending. */
  maxLatencyMs: number;
}

export interface StreamLoadRun {
  /** Resolves with the counts once the run and the last query's timeout are over. */
  done: Promise<StreamLoadResult>;
  /** Ends the run now (closing every connection); `done` then resolves with what was seen. */
  stop(): void;
}

interface Query {
  name: string;
  firstSent: number;
  tries: number;
  answered: boolean;
  lost: boolean;
}

/** One client connection: its socket, the queries unanswered on it by message ID. */
class Conn {
  readonly pending = new Map<number, Query>();
  closed = false;
  private nextId = 0;
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    readonly socket: net.Socket,
    private readonly onAnswer: (q: Query, msg: Buffer) => void,
    private readonly onClose: (c: Conn) => void,
  ) {
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.read(d));
    socket.on("error", () => undefined); // ECONNRESET, EPIPE: 'close' follows
    socket.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      this.onClose(this);
    });
  }

  send(q: Query): void {
    const id = (this.nextId = (this.nextId + 1) & 0xffff);
    this.pending.set(id, q);
    const msg = dnsQuery(q.name, id);
    const framed = Buffer.alloc(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    this.socket.write(framed);
  }

  private read(data: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, data]) : data;
    while (this.buf.length >= 2) {
      const len = this.buf.readUInt16BE(0);
      if (this.buf.length < 2 + len) break;
      const msg = this.buf.subarray(2, 2 + len);
      this.buf = this.buf.subarray(2 + len);
      if (msg.length < 12 || !(msg[2]! & 0x80)) continue;
      const q = this.pending.get(msg.readUInt16BE(0));
      if (!q) continue;
      this.pending.delete(msg.readUInt16BE(0));
      this.onAnswer(q, msg);
    }
  }
}

/** Starts the load now; `done` resolves with its counts. */
export function startStreamLoad(opts: StreamLoadOptions): StreamLoadRun {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxTries = opts.maxTries ?? 3;
  const ca = opts.tlsCa ? fs.readFileSync(opts.tlsCa) : undefined;
  const result: StreamLoadResult = {
    sent: 0,
    answered: 0,
    lost: 0,
    failed: 0,
    resent: 0,
    closedWithPending: 0,
    closedIdle: 0,
    opened: 0,
    maxLatencyMs: 0,
  };
  const queries: Query[] = [];
  // The connection each of the `connections` slots sends new queries on.
  const slots: Conn[] = [];
  // Every connection still open.
  const open = new Set<Conn>();
  let stopped = false;

  const connect = (): net.Socket => {
    result.opened++;
    const common = { host: "127.0.0.1", port: opts.port };
    return ca
      ? tls.connect({ ...common, ca, servername: "localhost", ALPNProtocols: ["dot"] })
      : net.connect(common);
  };

  const onAnswer = (q: Query, msg: Buffer): void => {
    if (!q.answered && !q.lost) {
      const latency = performance.now() - q.firstSent;
      if (latency <= timeoutMs) {
        q.answered = true;
        result.answered++;
        result.maxLatencyMs = Math.max(result.maxLatencyMs, latency);
        if ((msg[3]! & 0x0f) !== 0) result.failed++;
      }
    }
  };

  const onClose = (c: Conn): void => {
    open.delete(c);
    if (stopped) return;
    if (c.pending.size > 0) result.closedWithPending++;
    else result.closedIdle++;
    const target = replace(c);
    for (const q of c.pending.values()) {
      if (q.answered || q.lost || q.tries >= maxTries) continue;
      if (performance.now() - q.firstSent > timeoutMs) continue;
      q.tries++;
      result.resent++;
      target.send(q);
    }
    c.pending.clear();
  };

  /** A fresh connection takes `c`'s slot; returns it. */
  const replace = (c: Conn): Conn => {
    const i = slots.indexOf(c);
    const fresh = newConn();
    if (i >= 0) slots[i] = fresh;
    return fresh;
  };
  const newConn = (): Conn => {
    const c = new Conn(connect(), onAnswer, onClose);
    open.add(c);
    return c;
  };

  for (let i = 0; i < opts.connections; i++) slots.push(newConn());

  const start = performance.now();
  let issued = 0;
  const total = Math.round(opts.qps * opts.seconds);
  let finish: () => void = () => undefined;
  const done = new Promise<StreamLoadResult>((resolve) => {
    finish = () => {
      if (stopped) return;
      stopped = true;
      clearInterval(ticker);
      clearTimeout(ender);
      for (const q of queries) if (!q.answered) q.lost = true;
      result.lost = queries.filter((q) => q.lost).length;
      for (const c of open) c.socket.destroy();
      resolve(result);
    };
  });
  const ticker = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.qps));
    for (; issued < due; issued++) {
      const q: Query = {
        name: opts.names[issued % opts.names.length]!,
        firstSent: performance.now(),
        tries: 1,
        answered: false,
        lost: false,
      };
      queries.push(q);
      result.sent++;
      slots[issued % slots.length]!.send(q);
    }
  }, 5);
  const ender = setTimeout(() => finish(), opts.seconds * 1000 + timeoutMs + 200);
  return { done, stop: () => finish() };
}
