/**
 * command() for the kresd workers of one rundir, whatever runs them: each worker's control socket
 * is RUNDIR/control/<pid>, asked over kept-open connections.
 */
import { WorkerGone, type CommandOptions, type WorkerRef } from "../interface.js";
import { ControlPool } from "./control-pool.js";
import { controlSocketPath } from "./control-socket.js";

/** How long a worker may take to answer when the caller does not say. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 5000;

export class KresdCommands {
  private readonly pool = new ControlPool();

  constructor(private readonly rundir: string) {}

  command(worker: WorkerRef, lua: string, opts: CommandOptions = {}): Promise<string> {
    if (worker.pid === undefined) return Promise.reject(new WorkerGone(`${worker.name}: not running`));
    const timeoutMs = opts.timeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS;
    return this.pool.ask(controlSocketPath(this.rundir, worker.pid), lua, timeoutMs);
  }

  /** Closes the kept connections. */
  close(): void {
    this.pool.close();
  }
}
