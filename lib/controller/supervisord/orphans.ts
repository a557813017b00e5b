/**
 * Processes an earlier run on a rundir left behind when its supervisord died without stopping them
 * (kill -9, OOM, a crash outside systemd's cgroup clean-up): kresd workers still holding the
 * listening sockets, cache-gc, the manager. Found from /proc, never from a pid file (a PID may have
 * been reused since), and stopped with SIGTERM, then SIGKILL after a bound.
 *
 * A process is one of ours when supervisord started it for this very rundir: its environment has
 * SUPERVISOR_SERVER_URL naming the rundir's supervisord.sock (directories compared as resolved
 * paths, exactly, so /run/kr never matches /run/kr2) and its command line is that program's. It is
 * an orphan when its parent is not a live supervisord running this rundir's supervisord.conf.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { rundirFiles } from "./config-file.js";
import { ControllerError } from "../errors.js";

/** The programs of supervisord.conf (config-file.ts), by their supervisord group name. */
export type OrphanKind = "kresd" | "cache-gc" | "manager";

export interface Orphan {
  pid: number;
  kind: OrphanKind;
  /** supervisord's name of it: kresd:kresd0, cache-gc, manager. */
  name: string;
  /** Field 22 of /proc/PID/stat: tells this process from a later one with the same PID. */
  startTime: string;
}

/** Where processes are read from; a test points it at a fake tree. */
export interface ProcOptions {
  procRoot?: string;
}

/** Orphans that would not go even after SIGKILL (another user's, or stuck in the kernel). */
export class OrphansNotStopped extends ControllerError {}

interface ProcInfo {
  argv: string[];
  env: Map<string, string>;
  ppid: number;
  state: string;
  startTime: string;
}

function readProc(root: string, pid: number): ProcInfo | undefined {
  try {
    const dir = path.join(root, String(pid));
    const stat = fs.readFileSync(path.join(dir, "stat"), "utf8");
    // The command name in parentheses may hold blanks and parentheses: fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const argv = fs.readFileSync(path.join(dir, "cmdline"), "utf8").split("\0");
    if (argv.at(-1) === "") argv.pop();
    const env = new Map<string, string>();
    for (const entry of fs.readFileSync(path.join(dir, "environ"), "utf8").split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0) env.set(entry.slice(0, eq), entry.slice(eq + 1));
    }
    return { argv, env, state: fields[0] ?? "", ppid: Number(fields[1]), startTime: fields[19] ?? "" };
  } catch {
    return undefined; // gone meanwhile, or not ours to read (another user's environment)
  }
}

/** A path with its symbolic links resolved when it exists; else only made absolute. */
function resolved(p: string): string {
  const abs = path.resolve(p);
  try {
    return fs.realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Whether `p` names the same file as `want` (resolved); `want` is already resolved. */
function samePath(p: string, want: string): boolean {
  return resolved(p) === want;
}

/** The rundir's supervisord.sock, as a dead supervisord's children have it in their environment. */
function servesRundir(env: Map<string, string>, sockWanted: string): boolean {
  const url = env.get("SUPERVISOR_SERVER_URL");
  if (!url?.startsWith("unix://")) return false;
  const sock = url.slice("unix://".length);
  return (
    path.basename(sock) === path.basename(sockWanted) &&
    samePath(path.dirname(sock), path.dirname(sockWanted))
  );
}

/** What the command line must look like for each program (as config-file.ts writes it). */
function kindOf(info: ProcInfo, rundir: string): OrphanKind | undefined {
  const group = info.env.get("SUPERVISOR_GROUP_NAME");
  const { argv } = info;
  if (group === "kresd") {
    // kresd -c RUNDIR/kresdN.lua -n RUNDIR …
    const n = argv.indexOf("-n");
    return n > 0 && argv[n + 1] !== undefined && samePath(argv[n + 1]!, rundir) ? "kresd" : undefined;
  }
  if (group === "cache-gc") return path.basename(argv[0] ?? "") === "kres-cache-gc" ? "cache-gc" : undefined;
  if (group === "manager") {
    // node … dist/bundle/manager.js (or dist/lib/manager/main.js, unbundled) -c …
    const entry = (a: string) => a.endsWith("/manager.js") || a.endsWith("/main.js");
    return argv.slice(1).some(entry) ? "manager" : undefined;
  }
  return undefined;
}

/** Whether `pid` is a live supervisord started on this rundir's supervisord.conf. */
function isSupervisordOf(root: string, pid: number, conf: string): boolean {
  const info = readProc(root, pid);
  if (!info || info.state === "Z" || info.state === "X") return false;
  const c = info.argv.indexOf("-c");
  return (
    info.argv.some((a) => path.basename(a) === "supervisord") &&
    c > 0 &&
    info.argv[c + 1] !== undefined &&
    samePath(info.argv[c + 1]!, conf)
  );
}

function nameOf(kind: OrphanKind, info: ProcInfo): string {
  return kind === "kresd" ? `kresd:${info.env.get("SUPERVISOR_PROCESS_NAME") ?? "kresd?"}` : kind;
}

const KIND_ORDER: OrphanKind[] = ["manager", "cache-gc", "kresd"];

/**
 * The processes of an earlier run on `rundir` whose supervisord is gone, the manager first, then
 * cache-gc, then the workers by name. Zombies are left out (they hold nothing any more), and so is
 * this very process.
 */
export function findOrphans(rundir: string, opts: ProcOptions = {}): Orphan[] {
  const root = opts.procRoot ?? "/proc";
  const dir = resolved(rundir);
  const files = rundirFiles(dir);
  const found: Orphan[] = [];
  for (const entry of fs.readdirSync(root)) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid && root === "/proc") continue;
    const info = readProc(root, pid);
    if (!info || info.state === "Z" || info.state === "X") continue;
    if (!servesRundir(info.env, files.sock)) continue;
    const kind = kindOf(info, dir);
    if (!kind) continue;
    if (isSupervisordOf(root, info.ppid, files.conf)) continue; // a live supervisord's own child
    found.push({ pid, kind, name: nameOf(kind, info), startTime: info.startTime });
  }
  return found.sort(
    (a, b) =>
      KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind) ||
      a.name.localeCompare(b.name, "en", { numeric: true }) ||
      a.pid - b.pid,
  );
}

/** "kresd:kresd0 (pid 12), cache-gc (pid 14)". */
export function describeOrphans(orphans: readonly Orphan[]): string {
  return orphans.map((o) => `${o.name} (pid ${o.pid})`).join(", ");
}

/** Whether the orphan still runs: same PID, same start time, not a zombie. */
function stillThere(root: string, o: Orphan): boolean {
  const info = readProc(root, o.pid);
  return !!info && info.startTime === o.startTime && info.state !== "Z" && info.state !== "X";
}

function signal(root: string, o: Orphan, sig: NodeJS.Signals): void {
  if (!stillThere(root, o)) return; // gone, or its PID is somebody else's now: never signalled
  try {
    process.kill(o.pid, sig);
  } catch {
    // ESRCH: gone between the check and the signal
  }
}

async function waitGone(root: string, orphans: readonly Orphan[], ms: number): Promise<Orphan[]> {
  const deadline = Date.now() + ms;
  let left = orphans.filter((o) => stillThere(root, o));
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10));
    left = left.filter((o) => stillThere(root, o));
  }
  return left;
}

export interface StopOptions extends ProcOptions {
  /** How long SIGTERM has before SIGKILL (default 5 s). */
  graceMs?: number;
}

export interface StopOutcome {
  /** Gone after SIGTERM. */
  terminated: Orphan[];
  /** Needed SIGKILL. */
  killed: Orphan[];
}

/**
 * SIGTERM to every orphan, SIGKILL to those still there after `graceMs`; resolves once all are
 * gone. A PID that no longer is the orphan found (another start time) is never signalled.
 * Throws OrphansNotStopped naming those still there a while after SIGKILL.
 */
export async function stopOrphans(orphans: readonly Orphan[], opts: StopOptions = {}): Promise<StopOutcome> {
  const root = opts.procRoot ?? "/proc";
  for (const o of orphans) signal(root, o, "SIGTERM");
  const stubborn = await waitGone(root, orphans, opts.graceMs ?? 5000);
  for (const o of stubborn) signal(root, o, "SIGKILL");
  const left = await waitGone(root, stubborn, 2000);
  if (left.length > 0) throw new OrphansNotStopped(`still running after SIGKILL: ${describeOrphans(left)}`);
  return { terminated: orphans.filter((o) => !stubborn.includes(o)), killed: stubborn };
}

/**
 * Removes the control sockets (RUNDIR/control/PID) of workers that are gone: the files a killed
 * kresd, or one that ran before a reboot, left. A PID that is a live kresd of this rundir keeps
 * its socket. Returns the removed paths.
 */
export function removeStaleControlSockets(rundir: string, opts: ProcOptions = {}): string[] {
  const root = opts.procRoot ?? "/proc";
  const dir = path.join(rundir, "control");
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const file = path.join(dir, entry);
    if (!/^\d+$/.test(entry) || !isSocketFile(file)) continue;
    const info = readProc(root, Number(entry));
    const live =
      info && info.state !== "Z" && info.state !== "X" && kindOf(info, resolved(rundir)) === "kresd";
    if (live) continue;
    fs.rmSync(file, { force: true });
    removed.push(file);
  }
  return removed;
}

function isSocketFile(file: string): boolean {
  try {
    return fs.lstatSync(file).isSocket();
  } catch {
    return false;
  }
}
