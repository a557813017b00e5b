/**
 * A DNS load over TCP, TLS (DoT) or HTTP/2 (DoH) from a client that behaves as RFC 7766 (and for
 * DoH RFC 8484 with RFC 9113) asks of one, for tests and benchmarks. dnsperf 2.10 does not: it
 * ignores a connection the server closed (it reconnects only when a later send fails) and never
 * resends the queries left unanswered on it, so every server close costs it at least one query
 * whatever the server does; its DoT mode even gives up, and it has no DoH.
 *
 * This client keeps `connections` connections (DoH: HTTP/2 sessions) open and spreads `qps` queries
 * a second over them. When the server closes or resets one (DoH: also GOAWAY, or a stream refused)
 * it opens a new one at once and sends the queries still unanswered on it there (RFC 7766 §6.2.4).
 * A query counts as lost when no answer came within `timeoutMs` of its first sending, resending
 * included (as dnsperf's timeout counts one lost); an answer that comes later does not save it.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import { performance } from "node:perf_hooks";
import * as tls from "node:tls";
import { dnsQuery } from "./dns-probe.js";
import { DohSession } from "./doh-session.js";
import type { Channel, ChannelEvents, LoadQuery } from "./load-channel.js";

export interface StreamLoadOptions {
  port: number;
  /** DoT (or DoH): the CA file that signed the server's certificate (for 'localhost'); plain TCP when absent. */
  tlsCa?: string;
  /** DoH: HTTP/2 requests to this path (e.g. "/dns-query") instead of DoT; needs `tlsCa`. */
  dohPath?: string;
  /** DoH: GET with `?dns=` (the default) or POST (see doh-session.ts on kresd 5.6 and POST). */
  dohMethod?: "GET" | "POST";
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
  /** Answers with an RCODE other than NOERROR, or DoH answers with an HTTP status other than 200 (they count as answered). */
  failed: number;
  /** Sendings repeated on a new connection because the old one closed before the answer came. */
  resent: number;
  /** Connections the server closed (or reset, or sent GOAWAY on) with queries of ours unanswered on them. */
  closedWithPending: number;
  /** Connections the server closed (or reset, or sent GOAWAY on) while nothing of ours was unanswered on them. */
  closedIdle: number;
  /** Connections opened, the first `connections` included. */
  opened: number;
  /**
   * Of the closed ones, those that ended before the connection (DoT, DoH: its TLS handshake) was
   * made: refused, or reset while waiting in the accept queue of a listener that closed.
   */
  neverConnected: number;
  /** DoH: sessions on which the server sent GOAWAY (0 for TCP and DoT). */
  goaways: number;
  /** The slowest answer that came in time, from the first sending. */
  maxLatencyMs: number;
}

export interface StreamLoadRun {
  /** Resolves with the counts once the run and the last query's timeout are over. */
  done: Promise<StreamLoadResult>;
  /** Ends the run now (closing every connection); `done` then resolves with what was seen. */
  stop(): void;
}

/** One TCP or DoT connection: its socket, the queries unanswered on it by message ID. */
class Conn implements Channel {
  private readonly pending = new Map<number, LoadQuery>();
  private closed = false;
  private connected = false;
  private nextId = 0;
  private buf: Buffer = Buffer.alloc(0);

  constructor(
    private readonly socket: net.Socket,
    private readonly events: ChannelEvents,
  ) {
    socket.setNoDelay(true);
    socket.once(socket instanceof tls.TLSSocket ? "secureConnect" : "connect", () => (this.connected = true));
    socket.on("data", (d: Buffer) => this.read(d));
    socket.on("error", () => undefined); // ECONNRESET, EPIPE: 'close' follows
    socket.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      const caught = this.pending.size > 0;
      events.leaving(this);
      events.unanswered(this, [...this.pending.values()]);
      this.pending.clear();
      events.closed(this, caught, this.connected);
    });
  }

  send(q: LoadQuery): void {
    const id = (this.nextId = (this.nextId + 1) & 0xffff);
    this.pending.set(id, q);
    const msg = dnsQuery(q.name, id);
    const framed = Buffer.alloc(2 + msg.length);
    framed.writeUInt16BE(msg.length, 0);
    msg.copy(framed, 2);
    this.socket.write(framed);
  }

  destroy(): void {
    this.socket.destroy();
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
      this.events.answer(q, (msg[3]! & 0x0f) === 0);
    }
  }
}

/** Starts the load now; `done` resolves with its counts. */
export function startStreamLoad(opts: StreamLoadOptions): StreamLoadRun {
  const timeoutMs = opts.timeoutMs ?? 2000;
  const maxTries = opts.maxTries ?? 3;
  const ca = opts.tlsCa ? fs.readFileSync(opts.tlsCa) : undefined;
  if (opts.dohPath !== undefined && !ca) throw new Error("DoH needs tlsCa");
  const result: StreamLoadResult = {
    sent: 0,
    answered: 0,
    lost: 0,
    failed: 0,
    resent: 0,
    closedWithPending: 0,
    closedIdle: 0,
    opened: 0,
    neverConnected: 0,
    goaways: 0,
    maxLatencyMs: 0,
  };
  const queries: LoadQuery[] = [];
  // The channel each of the `connections` slots sends new queries on, and the slot of each channel.
  const slots: Channel[] = [];
  const slotOf = new Map<Channel, number>();
  // Every channel still open.
  const open = new Set<Channel>();
  let stopped = false;

  const events: ChannelEvents = {
    answer(q, ok) {
      if (q.answered || q.lost) return;
      const latency = performance.now() - q.firstSent;
      if (latency > timeoutMs) return;
      q.answered = true;
      result.answered++;
      result.maxLatencyMs = Math.max(result.maxLatencyMs, latency);
      if (!ok) result.failed++;
    },
    leaving(c) {
      if (stopped) return;
      const i = slotOf.get(c);
      if (i !== undefined && slots[i] === c) slots[i] = open_(i);
    },
    unanswered(c, qs) {
      if (stopped) return;
      const target = slots[slotOf.get(c) ?? 0]!;
      for (const q of qs) {
        if (q.answered || q.lost || q.tries >= maxTries) continue;
        if (performance.now() - q.firstSent > timeoutMs) continue;
        q.tries++;
        result.resent++;
        target.send(q);
      }
    },
    closed(c, caught, connected) {
      open.delete(c);
      if (stopped) return;
      if (caught) result.closedWithPending++;
      else result.closedIdle++;
      if (!connected) result.neverConnected++;
    },
    goaway() {
      if (!stopped) result.goaways++;
    },
  };

  const open_ = (slot: number): Channel => {
    result.opened++;
    const common = { host: "127.0.0.1", port: opts.port };
    const c: Channel =
      opts.dohPath !== undefined
        ? new DohSession({ ...common, ca: ca!, path: opts.dohPath, method: opts.dohMethod ?? "GET" }, events)
        : new Conn(
            ca
              ? tls.connect({ ...common, ca, servername: "localhost", ALPNProtocols: ["dot"] })
              : net.connect(common),
            events,
          );
    slotOf.set(c, slot);
    open.add(c);
    return c;
  };

  for (let i = 0; i < opts.connections; i++) slots.push(open_(i));

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
      for (const c of open) c.destroy();
      resolve(result);
    };
  });
  const ticker = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * opts.qps));
    for (; issued < due; issued++) {
      const q: LoadQuery = {
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
