import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { pidAlive } from "../lib/utils/processes.js";

/**
 * Ports handed out are reserved by a lock file per port holding the owner's PID, so parallel jest
 * workers and benchmarks (separate processes) never get the same port. A lock lives as long as its owner: once that
 * process is gone the lock is stale and the port can be handed out again.
 */
const LOCK_DIR = path.join(os.tmpdir(), "krm-test-ports");

function listenTcp(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(undefined));
    srv.listen({ host: "127.0.0.1", port, exclusive: true }, () => resolve(srv));
  });
}

function bindUdp(port: number): Promise<dgram.Socket | undefined> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: false });
    sock.once("error", () => {
      sock.close();
      resolve(undefined);
    });
    sock.bind({ address: "127.0.0.1", port, exclusive: true }, () => resolve(sock));
  });
}

/** Takes the lock of a port for this process; false if another live process holds it. */
function reserve(port: number): boolean {
  fs.mkdirSync(LOCK_DIR, { recursive: true });
  const file = path.join(LOCK_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, String(process.pid), { flag: "wx" });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const owner = Number(fs.readFileSync(file, "utf8"));
      if (owner === process.pid || (owner > 0 && pidAlive(owner))) return false;
      fs.rmSync(file, { force: true }); // stale: its owner is gone
    }
  }
  return false;
}

export interface FreePortOptions {
  /** Pick at random in [min, max] instead of letting the kernel choose (an ephemeral port). */
  min?: number;
  max?: number;
}

/**
 * A port on 127.0.0.1 that is free for both TCP and UDP right now and that no live
 * process got from this function. The port is not held open: start the server on it soon.
 */
export async function freePort(opts: FreePortOptions = {}): Promise<number> {
  const { min, max } = opts;
  if ((min === undefined) !== (max === undefined) || (min !== undefined && max !== undefined && min > max))
    throw new RangeError("freePort: give both min and max, with min <= max");
  for (let attempt = 0; attempt < 200; attempt++) {
    let candidate: number;
    if (min !== undefined && max !== undefined) {
      candidate = min + Math.floor(Math.random() * (max - min + 1));
    } else {
      const probe = await listenTcp(0);
      if (!probe) continue;
      candidate = (probe.address() as net.AddressInfo).port;
      await new Promise((r) => probe.close(r));
    }
    const tcp = await listenTcp(candidate);
    const udp = tcp && (await bindUdp(candidate));
    const free = !!tcp && !!udp;
    if (udp) await new Promise<void>((r) => udp.close(() => r()));
    if (tcp) await new Promise((r) => tcp.close(r));
    if (free && reserve(candidate)) return candidate;
  }
  throw new Error(`freePort: no free port found${min !== undefined ? ` in ${min}-${max}` : ""}`);
}
