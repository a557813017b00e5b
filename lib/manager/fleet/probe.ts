/** One DNS query over UDP to a node's own listener: does the resolver answer at all? */
import * as dgram from "node:dgram";
import { isIPv6 } from "node:net";
import type { KresConfig } from "../../datamodel/config.js";
import { listenSockets } from "../../datamodel/sections/network/sockets.js";

/** A query for `name` (type A, RD set) with message ID `id`. */
export function probeQuery(name: string, id: number): Buffer {
  const labels = name.replace(/\.$/, "").split(".").filter(Boolean);
  const qname = Buffer.concat([
    ...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, "ascii")])),
    Buffer.from([0]),
  ]);
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id & 0xffff, 0);
  header.writeUInt16BE(0x0100, 2);
  header.writeUInt16BE(1, 4);
  return Buffer.concat([header, qname, Buffer.from([0, 1, 0, 1])]);
}

/** Where to probe a config's resolver: its first plain DNS listener on an IP address (a wildcard as loopback). */
export function probeTarget(cfg: KresConfig): { addr: string; port: number } | undefined {
  const s = listenSockets(cfg).find((l) => l.kind === "dns" && l.proto === "udp");
  if (!s) return undefined;
  const addr = s.addr === "0.0.0.0" ? "127.0.0.1" : s.addr === "::" ? "::1" : s.addr;
  return { addr, port: s.port };
}

/**
 * Sends one query for `localhost.` (answered locally by kresd, no upstream needed) and waits up to
 * `timeoutMs` for any answer with its ID: the RCODE does not matter, an answer does.
 */
export function probe(target: { addr: string; port: number }, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket(isIPv6(target.addr) ? "udp6" : "udp4");
    const id = Math.floor(Math.random() * 0x10000);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on("error", () => done(false));
    sock.on("message", (msg) => {
      if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2]! & 0x80) !== 0) done(true);
    });
    sock.send(probeQuery("localhost.", id), target.port, target.addr);
  });
}
