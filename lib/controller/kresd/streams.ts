/**
 * The client connections (DNS over TCP, DoT, DoH) a kresd worker still holds, read from /proc: the
 * worker's socket descriptors, looked up in the kernel's TCP tables for their state and queues.
 * kresd 5.6 cannot list its own sessions, and a retiring worker must not be stopped while a
 * client's query sits unread in one of them or its answer unsent.
 */
import * as fs from "node:fs";

/** A port a worker listened on for clients, and whether on IPv6 (the table to look in). */
export interface ClientPort {
  port: number;
  ipv6: boolean;
}

export interface StreamState {
  /** Connections to one of the ports still open on the worker's side. */
  open: number;
  /** Of these, those with bytes the worker has not read yet (a query, or part of one). */
  busy: number;
}

// Kernel TCP states (include/net/tcp_states.h) that hold no connection of a client.
const TCP_CLOSE = 0x07;
const TCP_LISTEN = 0x0a;

/**
 * Counts the rows of /proc/net/tcp{,6} text that are sockets in `inodes` with a local port in
 * `ports` and a connection state. A row reads: sl local rem st tx_queue:rx_queue tr:when retrnsmt
 * uid timeout inode …, addresses as hex IP:PORT, queues in bytes (hex).
 */
export function countStreams(
  table: string,
  inodes: ReadonlySet<string>,
  ports: ReadonlySet<number>,
): StreamState {
  const state: StreamState = { open: 0, busy: 0 };
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10 || !inodes.has(f[9]!)) continue;
    const port = parseInt(f[1]!.slice(f[1]!.lastIndexOf(":") + 1), 16);
    const st = parseInt(f[3]!, 16);
    if (!ports.has(port) || st === TCP_LISTEN || st === TCP_CLOSE) continue;
    state.open++;
    // tx_queue is left out: it holds answers already sent but not acknowledged yet (a client's
    // delayed ACK keeps it filled), which the kernel still delivers after the worker exits.
    if (parseInt(f[4]!.split(":")[1]!, 16) > 0) state.busy++;
  }
  return state;
}

/** What a /proc file says, or "" when it is gone (the process or the descriptor). */
function procRead(read: () => string): string {
  try {
    return read();
  } catch {
    return "";
  }
}

/**
 * The connections process `pid` holds on local `ports`; undefined when /proc cannot tell (no
 * such process, or not ours to look into). Synchronous reads on purpose: a few dozen tiny procfs
 * calls, where each through the thread pool costs a round trip. A TCP table costs milliseconds
 * (the kernel walks every socket of the host): only those of the ports' families are read.
 */
export function workerStreams(pid: number, ports: readonly ClientPort[]): StreamState | undefined {
  try {
    const inodes = new Set<string>();
    const fdDir = `/proc/${pid}/fd`;
    for (const fd of fs.readdirSync(fdDir)) {
      const m = /^socket:\[(\d+)\]$/.exec(procRead(() => fs.readlinkSync(`${fdDir}/${fd}`)));
      if (m) inodes.add(m[1]!);
    }
    const total: StreamState = { open: 0, busy: 0 };
    for (const [table, ipv6] of [
      ["tcp", false],
      ["tcp6", true],
    ] as const) {
      const wanted = new Set(ports.filter((p) => p.ipv6 === ipv6).map((p) => p.port));
      if (wanted.size === 0) continue;
      const text = procRead(() => fs.readFileSync(`/proc/${pid}/net/${table}`, "utf8"));
      const s = countStreams(text, inodes, wanted);
      total.open += s.open;
      total.busy += s.busy;
    }
    return total;
  } catch {
    return undefined;
  }
}
