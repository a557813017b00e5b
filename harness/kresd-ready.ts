/**
 * Spawn-to-READY of a bare kresd: `/usr/sbin/kresd -n -c FILE RUNDIR` with $NOTIFY_SOCKET on a unix
 * datagram socket of ours, timed until its "READY=1" arrives.
 *
 * Node has no unix datagram sockets, so a tiny helper on Debian's /usr/bin/python3 binds the socket
 * and prints every datagram as a JSON line with its CLOCK_MONOTONIC arrival time (ns) and the
 * sender's PID (SCM_CREDENTIALS). process.hrtime.bigint() reads the same clock, so the time is
 * arrival minus the moment just before spawn(), with no pipe delay in it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as readline from "node:readline";
import { onExitCleanup } from "./cleanup.js";
import { KRESD } from "./kresd.js";
import { OFFLINE_LUA } from "./offline.js";
import { freePort } from "./ports.js";
import { signalPid, within } from "./procs.js";
const PYTHON = "/usr/bin/python3";

const LISTENER_PY = `
import json, os, select, socket, struct, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print(json.dumps({"bound": sys.argv[1]}), flush=True)
while True:
    ready, _, _ = select.select([s, sys.stdin], [], [])
    if sys.stdin in ready and not os.read(sys.stdin.fileno(), 4096):
        break  # our parent closed the pipe: done
    if s in ready:
        data, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(12))
        t = time.monotonic_ns()
        pid = None
        for level, kind, payload in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                pid = struct.unpack("iII", payload[:12])[0]
        print(json.dumps({"t": str(t), "pid": pid, "msg": data.decode("utf-8", "replace")}), flush=True)
`;

interface Datagram {
  /** CLOCK_MONOTONIC at arrival, ns, as a decimal string (beyond 2^53 after ~104 days of uptime). */
  t: string;
  pid: number | null;
  msg: string;
}

/** The notify socket and its listener; `next(pid)` waits for that PID's READY=1. */
class NotifyListener {
  private waiters = new Map<number, (d: Datagram) => void>();
  private early = new Map<number, Datagram>();
  readonly closed: Promise<void>;

  private constructor(
    readonly socketPath: string,
    private readonly child: ChildProcess,
  ) {
    this.closed = new Promise((r) => child.once("close", () => r()));
  }

  static async open(socketPath: string): Promise<NotifyListener> {
    const child = spawn(PYTHON, ["-c", LISTENER_PY, socketPath], { stdio: ["pipe", "pipe", "pipe"] });
    const listener = new NotifyListener(socketPath, child);
    let stderr = "";
    child.stderr?.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const lines = readline.createInterface({ input: child.stdout! });
    const bound = new Promise<void>((resolve, reject) => {
      child.once("close", (code) => reject(new Error(`notify listener exited (${code}): ${stderr.trim()}`)));
      child.once("error", reject);
      lines.on("line", (line) => {
        const m = JSON.parse(line) as Partial<Datagram> & { bound?: string };
        if (m.bound !== undefined) return resolve();
        listener.received(m as Datagram);
      });
    });
    await bound;
    return listener;
  }

  private received(d: Datagram): void {
    if (d.pid === null || !/^READY=1$/m.test(d.msg)) return;
    const waiter = this.waiters.get(d.pid);
    if (waiter) waiter(d);
    else this.early.set(d.pid, d);
  }

  /** The READY=1 datagram of `pid`, or undefined when `gone` settles first or the time is up. */
  async readyOf(pid: number, gone: Promise<unknown>, timeoutMs: number): Promise<Datagram | undefined> {
    const got = this.early.get(pid);
    if (got) return got;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<Datagram>((resolve) => this.waiters.set(pid, resolve)),
        gone.then(() => undefined),
        new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs))),
      ]);
    } finally {
      clearTimeout(timer);
      this.waiters.delete(pid);
      this.early.delete(pid);
    }
  }

  async close(): Promise<void> {
    this.child.stdin?.end(); // the helper exits on EOF
    if (!(await within(this.closed, 3000))) signalPid(this.child.pid ?? -1, "SIGKILL");
    fs.rmSync(this.socketPath, { force: true });
  }

  killNow(): void {
    signalPid(this.child.pid ?? -1, "SIGKILL");
  }
}

export interface BareReadyResult {
  /** Spawn-to-READY of each measured run, ms. */
  times: number[];
  /** The warm-up run (creates the cache), ms; not among `times`. */
  warmupMs: number;
}

/**
 * Spawns a bare kresd `runs` times (plus one warm-up), each time until READY=1, then stops it.
 * The Lua: the same cache settings as the benchmark's resolver, a net.listen on a free loopback
 * port and the offline guard.
 */
export async function measureBareReady(runs: number, timeoutMs = 10_000): Promise<BareReadyResult> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-bench-kresd-"));
  const rundir = path.join(dir, "run");
  const cacheDir = path.join(rundir, "cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  let current: ChildProcess | undefined;
  let listener: NotifyListener | undefined;
  const forget = onExitCleanup(() => {
    if (current?.pid) signalPid(current.pid, "SIGKILL");
    listener?.killNow();
    fs.rmSync(dir, { recursive: true, force: true });
  });
  try {
    listener = await NotifyListener.open(path.join(dir, "notify.sock"));
    const times: number[] = [];
    let warmupMs = NaN;
    for (let i = 0; i <= runs; i++) {
      const port = await freePort();
      const configFile = path.join(dir, `kresd-${i}.lua`);
      fs.writeFileSync(
        configFile,
        [
          "-- bench/apply.ts: bare kresd, spawn-to-READY",
          'log_level("notice")',
          `net.listen("127.0.0.1", ${port}, {kind = "dns"})`,
          `cache.open(${10 * 1024 * 1024}, "lmdb://${cacheDir}")`,
          "cache.min_ttl(5)",
          "cache.max_ttl(86400)",
          "cache.ns_tout(1000)",
          OFFLINE_LUA,
        ].join("\n"),
      );
      let output = "";
      const start = process.hrtime.bigint();
      const kresd = spawn(KRESD, ["-n", "-c", configFile, rundir], {
        cwd: rundir,
        env: { ...process.env, NOTIFY_SOCKET: listener.socketPath },
        stdio: ["ignore", "pipe", "pipe"],
      });
      current = kresd;
      kresd.stdout?.setEncoding("utf8").on("data", (d: string) => (output += d));
      kresd.stderr?.setEncoding("utf8").on("data", (d: string) => (output += d));
      const exited = new Promise<void>((r) => {
        kresd.once("close", () => r());
        kresd.once("error", (e) => {
          output += e.message;
          r();
        });
      });
      const ready = await listener.readyOf(kresd.pid ?? -1, exited, timeoutMs);
      signalPid(kresd.pid ?? -1, "SIGTERM");
      if (!(await within(exited, 5000))) {
        signalPid(kresd.pid ?? -1, "SIGKILL");
        await exited;
      }
      current = undefined;
      if (!ready) {
        const tail = output.trim().split("\n").slice(-10).join("\n");
        throw new Error(`bare kresd sent no READY=1 within ${timeoutMs} ms:\n${tail}`);
      }
      const ms = Number(BigInt(ready.t) - start) / 1e6;
      if (i > 0) times.push(ms);
      else warmupMs = ms;
    }
    return { times, warmupMs };
  } finally {
    await listener?.close();
    fs.rmSync(dir, { recursive: true, force: true });
    forget();
  }
}
