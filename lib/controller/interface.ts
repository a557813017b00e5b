import { WORKERS_MAX, type KresConfig } from "../datamodel/config.js";
import type { ListenSocket } from "../datamodel/sections/network/sockets.js";
import { ControllerError } from "./errors.js";
import type { ClientPort, StreamState } from "./kresd/streams.js";

export type { ClientPort, StreamState } from "./kresd/streams.js";

/**
 * What the manager needs from whatever runs its subprocesses. The manager only ever talks to
 * this interface; supervisord is the one implementation (lib/controller/supervisord/).
 */

export type SubprocessKind = "kresd" | "cache-gc" | "manager";

export type SubprocessState =
  "running" | "starting" | "stopped" | "stopping" | "backoff" | "exited" | "fatal" | "unknown";

export interface SubprocessStatus {
  /** Controller-level name, e.g. 'kresd:kresd0', 'cache-gc', 'manager'. */
  name: string;
  kind: SubprocessKind;
  /** Worker slot for kresd: 0…workers-1, or CANARY_SLOT. */
  id?: number;
  state: SubprocessState;
  /** PID while the process exists, else undefined. */
  pid?: number;
  /** Unix time the process was last started (0 if never). */
  startedAt: number;
  /** Why the process is not running, when the controller knows. */
  error?: string;
}

/** How one run of a process ended: an exit code, or the signal that ended it (the other is -1). */
export interface ProcessExit {
  pid: number;
  code: number;
  signal: number;
}

/** A process could not be started, stopped or found; `name` says which. */
export class SubprocessError extends ControllerError {
  constructor(
    readonly process: string,
    message: string,
  ) {
    super(`${process}: ${message}`);
    this.name = "SubprocessError";
  }
}

/**
 * Nothing listens on a worker's control socket (any more), or it has no process: the worker is gone
 * or being replaced.
 */
export class WorkerGone extends ControllerError {
  constructor(message: string) {
    super(message);
    this.name = "WorkerGone";
  }
}

/** A worker did not answer a command within its timeout (it may be hung, or very busy). */
export class CommandTimeout extends ControllerError {
  constructor(message: string) {
    super(message);
    this.name = "CommandTimeout";
  }
}

/** The controller itself (supervisord) cannot be reached (HTTP 503). */
export class ControllerUnavailable extends ControllerError {
  override readonly status = 503;
  override get expose(): boolean {
    return true;
  }
  override get publicMessage(): string {
    return `cannot reach supervisord: ${this.message}`;
  }

  constructor(message: string) {
    super(message);
    this.name = "ControllerUnavailable";
  }
}

/** A kresd worker to send Lua to, as list() or status() reported it: its pid picks the process. */
export type WorkerRef = Pick<SubprocessStatus, "name" | "pid">;

export interface CommandOptions {
  /** How long the answer may take, connecting included (default 5 s). */
  timeoutMs?: number;
}

export interface SubprocessController {
  /** Every process the controller knows, in its current state (running ones are adoptable). */
  list(): Promise<SubprocessStatus[]>;
  status(name: string): Promise<SubprocessStatus>;
  /**
   * Prepares a kresd slot with its Lua config and the listening sockets the controller hands it
   * (the same sockets to every slot, so a stopping worker leaves its queue to the others).
   */
  createKresd(id: number, lua: string, sockets?: readonly ListenSocket[]): Promise<string>;
  /** The Lua a kresd slot was last prepared with; undefined if it has none. */
  kresdConfig(id: number): Promise<string | undefined>;
  /** Drops a stopped kresd slot's Lua config and sockets. */
  removeKresd(id: number): Promise<void>;
  /** How the last few runs of a process ended, newest last; empty when unknown. */
  exits(name: string): Promise<ProcessExit[]>;
  /** What a process printed in its most recent run, oldest line first; empty when unknown. */
  lastOutput(name: string): Promise<string[]>;
  /**
   * Brings the controller's own settings in line with a config (supervisord: its config file,
   * e.g. cache-gc's arguments) and lets go of listening sockets no slot uses any more. Returns
   * the names of processes this stopped or replaced.
   */
  configure(cfg: KresConfig): Promise<string[]>;
  /**
   * The programs configure(cfg) would stop and replace because their settings change (e.g.
   * 'cache-gc' for new garbage collector options), found without changing anything.
   */
  configureReplaces(cfg: KresConfig): Promise<string[]>;
  /** Starts and resolves once the process is RUNNING (for kresd: it sent READY=1). */
  start(name: string): Promise<SubprocessStatus>;
  /** Stops; resolves once it is gone. Stopping a stopped process is not an error. */
  stop(name: string): Promise<void>;
  /**
   * kresd's answer to one line of Lua sent to a running worker (as upstream's Subprocess.command):
   * a value as kresd prints it, e.g. "2", "'text'" or a table dump; a Lua error comes back as its
   * message. The worker is asked over a kept-open connection (one round trip), one line in flight
   * per connection. Rejects with WorkerGone when the worker has no process or nothing listens on
   * its control socket, with CommandTimeout on a timeout, with an Error on a broken connection.
   */
  command(worker: WorkerRef, lua: string, opts?: CommandOptions): Promise<string>;
  /**
   * The client connections (TCP, DoT, DoH) a running worker holds on local `ports`, open and busy
   * (bytes queued either way); undefined when the controller cannot tell.
   */
  streams(worker: WorkerRef, ports: readonly ClientPort[]): Promise<StreamState | undefined>;
  /**
   * SIGKILL to a worker, but only while `worker.pid` is still the process running under its name
   * (a hung worker does not heed SIGTERM, and a later run must not be hit). Resolves true when
   * sent, false when that run is over already. The exit is unexpected, so the controller restarts
   * the worker as after a crash; with `stop`, it is a stop instead (as stop(), without waiting
   * for SIGTERM to work), and resolves once the worker is gone.
   */
  kill(worker: WorkerRef, opts?: { stop?: boolean }): Promise<boolean>;
  /** Tells the controller the manager itself is ready (its start-up is complete). */
  notifyReady(pid: number): Promise<void>;
  /** Stops everything, the manager included, with an error exit: the manager has given up. */
  fatal(reason: string): Promise<void>;
  /** Stops everything and exits successfully. */
  shutdown(): Promise<void>;
}

export const kresdName = (id: number): string => `kresd:kresd${id}`;

/**
 * kresd slots: one per possible worker (upstream's ceiling, also the most a config can ask for)
 * plus a spare one for the canary, so the canary's name does not depend on the config and the
 * worker count can change at run time.
 */
export const CANARY_SLOT = WORKERS_MAX;
export const KRESD_SLOTS = WORKERS_MAX + 1;
export const CACHE_GC = "cache-gc";
export const MANAGER = "manager";
