/**
 * One DoH client session of the stream load (stream-load.ts): HTTP/2 over TLS, each query on its own
 * stream (RFC 8484), message ID 0: a GET with the query in `?dns=` (base64url), or a POST of
 * `application/dns-message`. kresd 5.6 refuses (REFUSED_STREAM) a stream whose HEADERS arrive while
 * another stream's POST body is still incomplete (it keeps one message buffer per connection,
 * knot-resolver issue 619), and Node's HTTP/2 sends the HEADERS of requests made together before
 * their DATA: POSTs made at once on one session are mostly refused. GET has no body (HEADERS with
 * END_STREAM), so nothing interleaves. As a good client does, it
 * takes no new query once the server sent GOAWAY or the connection ended, and hands back every
 * query whose stream ended without an answer (refused after GOAWAY, reset, connection closed) to be
 * sent again on a new session.
 */
import * as http2 from "node:http2";
import { dnsQuery } from "./dns-probe.js";
import type { Channel, ChannelEvents, LoadQuery } from "./load-channel.js";

export interface DohTarget {
  host: string;
  port: number;
  /** The CA that signed the server's certificate for 'localhost'. */
  ca: Buffer;
  /** The URL path of the DoH service, e.g. "/dns-query". */
  path: string;
  method: "GET" | "POST";
}

/** A whole DNS response (ID 0, QR set), not a body cut short by a closing connection. */
function isDnsAnswer(msg: Buffer): boolean {
  return msg.length >= 12 && msg.readUInt16BE(0) === 0 && (msg[2]! & 0x80) !== 0;
}

export class DohSession implements Channel {
  private readonly session: http2.ClientHttp2Session;
  /** The load no longer sends new queries here. */
  private left = false;
  /** A query of ours ended unanswered with the session. */
  private caught = false;
  /** The TLS handshake was made (HTTP/2 agreed on). */
  private connected = false;

  constructor(
    private readonly target: DohTarget,
    private readonly events: ChannelEvents,
  ) {
    this.session = http2.connect(`https://${target.host}:${target.port}`, {
      ca: target.ca,
      servername: "localhost",
      settings: { enablePush: false },
    });
    this.session.once("connect", () => (this.connected = true));
    this.session.on("error", () => undefined); // ECONNRESET, TLS errors: 'close' follows
    this.session.on("goaway", () => {
      events.goaway(this);
      this.leave();
    });
    this.session.on("close", () => {
      this.leave();
      // After the streams' own 'close' events, which tell whether one of ours was caught.
      setImmediate(() => events.closed(this, this.caught, this.connected));
    });
  }

  send(q: LoadQuery): void {
    const msg = dnsQuery(q.name, 0);
    const post = this.target.method === "POST";
    let req: http2.ClientHttp2Stream;
    try {
      req = this.session.request(
        post
          ? {
              ":method": "POST",
              ":path": this.target.path,
              "content-type": "application/dns-message",
              accept: "application/dns-message",
              "content-length": msg.length,
            }
          : {
              ":method": "GET",
              ":path": `${this.target.path}?dns=${msg.toString("base64url")}`,
              accept: "application/dns-message",
            },
        { endStream: !post },
      );
    } catch {
      // The session went away between the load's choice and this request.
      this.giveBack(q);
      return;
    }
    let status = 0;
    const chunks: Buffer[] = [];
    let done = false;
    req.on("response", (headers) => (status = Number(headers[":status"])));
    req.on("data", (d: Buffer) => chunks.push(d));
    req.on("end", () => {
      // A stream also ends, without a response, when its session closes: no answer then.
      const answer = Buffer.concat(chunks);
      if (status === 200 && !isDnsAnswer(answer)) return;
      if (status === 0) return;
      done = true;
      this.events.answer(q, status === 200 && (answer[3]! & 0x0f) === 0);
    });
    req.on("error", () => undefined); // 'close' follows
    req.on("close", () => {
      if (!done) this.giveBack(q);
    });
    if (post) req.end(msg);
  }

  destroy(): void {
    this.session.destroy();
  }

  /** `q` gets no answer here: sent again on the slot's session (a new one if this one is ending). */
  private giveBack(q: LoadQuery): void {
    if (this.session.closed || this.session.destroyed || this.left) {
      this.caught = true;
      this.leave();
    }
    this.events.unanswered(this, [q]);
  }

  private leave(): void {
    if (this.left) return;
    this.left = true;
    this.events.leaving(this);
  }
}
