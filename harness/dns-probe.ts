/** A minimal DNS-over-UDP prober for the benchmarks: "does something answer on this port yet?" */
import * as dgram from "node:dgram";
import { performance } from "node:perf_hooks";

/** A query (RD set) for `name` of type A, with message ID `id`. */
export function dnsQuery(name: string, id: number): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2); // RD
  header.writeUInt16BE(1, 4); // QDCOUNT
  const question = Buffer.alloc(4);
  question.writeUInt16BE(1, 0); // A
  question.writeUInt16BE(1, 2); // IN
  return Buffer.concat([header, qname, question]);
}

export interface DnsProbeResult {
  /** performance.now() when the first answer arrived. */
  at: number;
  /** Its RCODE. */
  rcode: number;
}

/**
 * Sends an A query for `name` to 127.0.0.1:port every `everyMs` until an answer (QR set, one of our
 * IDs) arrives; resolves with its arrival time. Rejects after `timeoutMs`. Queries sent before the
 * port was open and answered later count too: the first answer is what a client would get first.
 */
export function firstAnswer(
  port: number,
  name: string,
  timeoutMs = 60_000,
  everyMs = 5,
): Promise<DnsProbeResult> {
  return new Promise((resolve, reject) => {
    const sock = dgram.createSocket("udp4");
    let id = 0;
    let sender: NodeJS.Timeout | undefined;
    const finish = (fn: () => void) => {
      clearInterval(sender);
      clearTimeout(timer);
      sock.close();
      fn();
    };
    const timer = setTimeout(
      () => finish(() => reject(new Error(`no DNS answer on port ${port} within ${timeoutMs} ms`))),
      timeoutMs,
    );
    sock.on("error", () => undefined); // e.g. ICMP port unreachable before the port is open
    sock.on("message", (msg) => {
      const at = performance.now();
      if (msg.length < 12 || !(msg[2]! & 0x80) || msg.readUInt16BE(0) > id) return;
      finish(() => resolve({ at, rcode: msg[3]! & 0x0f }));
    });
    sock.bind(0, "127.0.0.1", () => {
      const send = () => {
        id = (id + 1) & 0xffff;
        sock.send(dnsQuery(name, id), port, "127.0.0.1", () => undefined);
      };
      send();
      sender = setInterval(send, everyMs);
    });
  });
}
