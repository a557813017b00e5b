/** Small process and port helpers for the benchmarks (self-contained: no test/ helpers in dist/). */
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function tcpFree(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(undefined));
    srv.listen({ host: "127.0.0.1", port, exclusive: true }, () => {
      const got = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(got));
    });
  });
}

function udpFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket({ type: "udp4", reuseAddr: false });
    sock.once("error", () => {
      sock.close();
      resolve(false);
    });
    sock.bind({ address: "127.0.0.1", port, exclusive: true }, () => sock.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/** An unprivileged loopback port free for TCP and UDP right now, not handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await tcpFree(0); // the kernel picks from the ephemeral range (>= 1024)
    if (port === undefined || port < 1024 || handedOut.has(port)) continue;
    if (await udpFree(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error("no free loopback port found");
}

/** PIDs of live (not zombie) processes whose command line contains `marker` (e.g. a tmp dir). */
export function pidsMentioning(marker: string): number[] {
  const out: number[] = [];
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmd = fs.readFileSync(`/proc/${entry}/cmdline`, "utf8");
      const stat = fs.readFileSync(`/proc/${entry}/stat`, "utf8");
      if (cmd.includes(marker) && !/\) [ZX] /.test(stat)) out.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Sends a signal to one PID; false when it is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Resolves true when `exited` settles within `ms`, false otherwise. */
export async function within(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

/**
 * Cleanups to run whatever happens: at the end of their owner's `finally`, and synchronously when
 * the benchmark is interrupted (SIGINT/SIGTERM) or exits early.
 */
const cleanups = new Set<() => void>();
let hooked = false;

export function onExitCleanup(fn: () => void): () => void {
  if (!hooked) {
    hooked = true;
    const runAll = () => {
      for (const c of [...cleanups]) {
        cleanups.delete(c);
        try {
          c();
        } catch {
          // best effort at exit
        }
      }
    };
    process.on("exit", runAll);
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      process.once(sig, () => {
        runAll();
        process.exit(130);
      });
    }
  }
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}
