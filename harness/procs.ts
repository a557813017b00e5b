/**
 * Processes for tests and benchmarks: GroupProcess (a long-running program in a process group of
 * its own, stopped by the safety net of ./cleanup.ts if nobody stops it), and the small helpers
 * around signals and waiting.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import { recordGroup, registerProcess, unregisterProcess } from "./cleanup.js";

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Name used in messages (default: the command's base name). */
  name?: string;
}

const OUTPUT_LIMIT = 4 * 1024 * 1024;

/**
 * A long-running process started in its own process group (detached), with its stdout and stderr
 * collected. Stopped by the harness after the test file if the test does not stop it.
 */
export class GroupProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly name: string;
  /** Resolves when the process has exited and its output is complete. */
  readonly exited: Promise<ExitStatus>;
  private out = "";
  private err = "";
  private status: ExitStatus | undefined;
  private unrecord: () => void;

  constructor(command: string, args: readonly string[], opts: SpawnOptions = {}) {
    this.name = opts.name ?? command.split("/").pop() ?? command;
    this.child = spawn(command, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.exited = new Promise((resolve) => {
      this.child.once("close", (code, signal) => {
        this.status = { code, signal };
        this.forget();
        resolve(this.status);
      });
      this.child.once("error", (e) => {
        this.err += `${this.name}: ${e.message}\n`;
        this.status = { code: null, signal: null };
        this.forget();
        resolve(this.status);
      });
    });
    this.pid = this.child.pid ?? -1;
    this.child.stdout
      ?.setEncoding("utf8")
      .on("data", (d: string) => (this.out = (this.out + d).slice(-OUTPUT_LIMIT)));
    this.child.stderr
      ?.setEncoding("utf8")
      .on("data", (d: string) => (this.err = (this.err + d).slice(-OUTPUT_LIMIT)));
    this.unrecord = this.pid > 0 ? recordGroup(this.pid, [command, ...args].join(" ")) : () => {};
    registerProcess(this);
  }

  /** Everything the process wrote to stdout so far. */
  get stdout(): string {
    return this.out;
  }

  /** Everything the process wrote to stderr so far. */
  get stderr(): string {
    return this.err;
  }

  /** Exit status, or undefined while it runs. */
  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  private forget(): void {
    unregisterProcess(this);
    this.unrecord();
    this.unrecord = () => {};
  }

  private signalGroup(signal: NodeJS.Signals): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }

  /** SIGTERM to the whole group, SIGKILL after `timeoutMs`; resolves with the exit status. */
  async stop(opts: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<ExitStatus> {
    if (this.status) {
      this.signalGroup("SIGKILL"); // anything the leader left in its group
      return this.status;
    }
    this.signalGroup(opts.signal ?? "SIGTERM");
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">(
      (r) => (timer = setTimeout(() => r("timeout"), opts.timeoutMs ?? 5000)),
    );
    const first = await Promise.race([this.exited, timeout]);
    clearTimeout(timer);
    if (first === "timeout") this.signalGroup("SIGKILL");
    const status = await this.exited;
    this.signalGroup("SIGKILL");
    return status;
  }

  /** Synchronous SIGKILL to the group (the exit-time safety net). */
  killNow(): void {
    this.signalGroup("SIGKILL");
    this.forget();
  }

  /** A description for error messages: exit status and the tail of stderr. */
  describe(): string {
    const st = this.status
      ? this.status.signal
        ? `killed by ${this.status.signal}`
        : `exited with code ${this.status.code}`
      : "running";
    const tail = this.err.trim().split("\n").slice(-30).join("\n");
    return `${this.name} (pid ${this.pid}) ${st}${tail ? `; stderr:\n${tail}` : ""}`;
  }
}

/** Polls `check` every `intervalMs` until it returns a value other than undefined, or fails. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  opts: { timeoutMs?: number; intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10000);
  for (;;) {
    const reason = opts.abort?.();
    if (reason !== undefined) throw new Error(`${what}: ${reason}`);
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: timed out after ${opts.timeoutMs ?? 10000} ms`);
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Resolves true when `exited` settles within `ms`, false otherwise. */
export async function within(exited: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)));
  const done = await Promise.race([exited.then(() => true as const), timeout]);
  clearTimeout(timer);
  return done;
}

/** Sends a signal to one PID (a negative one: a process group); false when it is already gone. */
export function signalPid(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
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

/** Whether `pid` is a live process (a zombie, dead but not yet reaped, is not). */
export function isRunning(pid: number): boolean {
  try {
    return !/\) [ZX] /.test(fs.readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}
