import {
  CACHE_GC,
  ControllerUnavailable,
  type ClientPort,
  SubprocessError,
  kresdName,
  type CommandOptions,
  type ProcessExit,
  type SubprocessController,
  type SubprocessKind,
  type SubprocessState,
  type StreamState,
  type SubprocessStatus,
  type WorkerRef,
} from "../interface.js";
import * as fs from "node:fs";
import type { KresConfig } from "../../datamodel/config.js";
import type { ListenSocket } from "../../datamodel/sections/network/sockets.js";
import { readFileIfExists, writeFileAtomic } from "../../utils/files.js";
import { KresdCommands } from "../kresd/commands.js";
import { workerStreams } from "../kresd/streams.js";
import {
  renderSupervisordConf,
  replacedPrograms,
  rundirFiles,
  WORKER_READY_TIMEOUT,
  type ManagerCommand,
} from "./config-file.js";
import { applySupervisordConf } from "./reload.js";
import { writeSupervisordConf } from "./launch.js";
import { Faults, SupervisordFault, SupervisordRpc, SupervisordUnreachable, type ProcessInfo } from "./rpc.js";

const STATES: Record<string, SubprocessState> = {
  RUNNING: "running",
  STARTING: "starting",
  STOPPED: "stopped",
  STOPPING: "stopping",
  BACKOFF: "backoff",
  EXITED: "exited",
  FATAL: "fatal",
};

function toStatus(info: ProcessInfo): SubprocessStatus {
  const name = info.group === info.name ? info.name : `${info.group}:${info.name}`;
  const kind: SubprocessKind =
    info.group === "kresd" ? "kresd" : info.group === CACHE_GC ? "cache-gc" : "manager";
  const status: SubprocessStatus = {
    name,
    kind,
    state: STATES[info.statename] ?? "unknown",
    startedAt: info.start,
  };
  if (kind === "kresd") status.id = Number(info.name.replace(/^kresd/, ""));
  if (info.pid > 0) status.pid = info.pid;
  if (info.spawnerr) status.error = info.spawnerr;
  return status;
}

/** How long a worker stopped by SIGKILL may take to be gone (it cannot refuse; supervisord notes it). */
const KILLED_GONE_MS = 10_000;

/** SubprocessController over supervisord's XML-RPC socket in the rundir. */
export class SupervisordController implements SubprocessController {
  readonly rpc: SupervisordRpc;
  private readonly commands: KresdCommands;
  /**
   * Whether a slot's listen spec may have dropped a socket since the last prune: listen_fds.prune
   * reads every slot's spec (hundreds of files), which a change that keeps the sockets can skip.
   */
  private specsChanged = true;

  constructor(
    private readonly rundir: string,
    /** How supervisord runs the manager: part of the config file configure() writes. */
    private readonly manager: ManagerCommand,
    timeoutMs?: number,
  ) {
    this.rpc = new SupervisordRpc(rundirFiles(rundir).sock, timeoutMs);
    this.commands = new KresdCommands(rundir);
  }

  private async guard<T>(name: string, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (e) {
      if (e instanceof SupervisordUnreachable) throw new ControllerUnavailable(e.message);
      if (e instanceof SupervisordFault) {
        if (e.faultCode === Faults.BAD_NAME) throw new SubprocessError(name, "no such process");
        if (e.faultCode === Faults.SHUTDOWN_STATE)
          throw new ControllerUnavailable("supervisord is shutting down");
        throw new SubprocessError(name, e.faultString);
      }
      throw e;
    }
  }

  async list(): Promise<SubprocessStatus[]> {
    const all = await this.guard("*", () => this.rpc.getAllProcessInfo());
    return all.map(toStatus);
  }

  async status(name: string): Promise<SubprocessStatus> {
    return toStatus(await this.guard(name, () => this.rpc.getProcessInfo(name)));
  }

  async createKresd(id: number, lua: string, sockets: readonly ListenSocket[] = []): Promise<string> {
    const files = rundirFiles(this.rundir);
    const spec = JSON.stringify(sockets) + "\n";
    if (readFileIfExists(files.workerListen(id)) !== spec) {
      writeFileAtomic(files.workerListen(id), spec);
      this.specsChanged = true;
    }
    writeFileAtomic(files.workerLua(id), lua);
    return kresdName(id);
  }

  async kresdConfig(id: number): Promise<string | undefined> {
    return readFileIfExists(rundirFiles(this.rundir).workerLua(id));
  }

  async removeKresd(id: number): Promise<void> {
    const files = rundirFiles(this.rundir);
    fs.rmSync(files.workerLua(id), { force: true });
    fs.rmSync(files.workerListen(id), { force: true });
    this.specsChanged = true;
  }

  async exits(name: string): Promise<ProcessExit[]> {
    return this.guard(name, () => this.rpc.read<ProcessExit[]>("manager_integration.exits", name));
  }

  async lastOutput(name: string): Promise<string[]> {
    const tail = await this.guard(name, () =>
      this.rpc.read<{ pid: number; lines: string[] }>("patch_logger.tail", name),
    );
    return tail.lines;
  }

  async configure(cfg: KresConfig): Promise<string[]> {
    const written = writeSupervisordConf(this.rundir, renderSupervisordConf(cfg, this.manager));
    const replaced = written ? await this.guard("supervisord", () => applySupervisordConf(this.rpc)) : [];
    if (this.specsChanged || written) {
      this.specsChanged = false;
      await this.guard("supervisord", () => this.rpc.call("listen_fds.prune"));
    }
    return replaced;
  }

  async configureReplaces(cfg: KresConfig): Promise<string[]> {
    const files = rundirFiles(this.rundir);
    return replacedPrograms(readFileIfExists(files.conf), renderSupervisordConf(cfg, this.manager));
  }

  async start(name: string): Promise<SubprocessStatus> {
    await this.guard(name, async () => {
      try {
        // Waits for READY=1, which supervisord bounds by startsecs.
        const within = (WORKER_READY_TIMEOUT + 10) * 1000;
        return await this.rpc.callWithin<boolean>(within, "fast.startProcess", name, true);
      } catch (e) {
        // Started meanwhile (e.g. by supervisord's autorestart): that is what we wanted.
        if (e instanceof SupervisordFault && e.faultCode === Faults.ALREADY_STARTED) return true;
        throw e;
      }
    });
    return this.status(name);
  }

  async stop(name: string): Promise<void> {
    await this.guard(name, async () => {
      try {
        return await this.rpc.callWithin<boolean>(70_000, "supervisor.stopProcess", name, true);
      } catch (e) {
        if (e instanceof SupervisordFault && e.faultCode === Faults.NOT_RUNNING) return true;
        throw e;
      }
    });
  }

  command(worker: WorkerRef, lua: string, opts?: CommandOptions): Promise<string> {
    return this.commands.command(worker, lua, opts);
  }

  async streams(worker: WorkerRef, ports: readonly ClientPort[]): Promise<StreamState | undefined> {
    return worker.pid === undefined ? undefined : workerStreams(worker.pid, ports);
  }

  async kill(worker: WorkerRef, opts: { stop?: boolean } = {}): Promise<boolean> {
    if (worker.pid === undefined) return false;
    const stop = opts.stop ?? false;
    const sent = await this.guard(worker.name, () =>
      this.rpc.call<boolean>("manager_integration.kill", worker.name, worker.pid, stop),
    );
    // SIGKILL ends it at once; supervisord notes the exit on its next turn.
    const deadline = Date.now() + KILLED_GONE_MS;
    while (sent && stop && (await this.status(worker.name)).state === "stopping") {
      if (Date.now() > deadline) throw new SubprocessError(worker.name, "still stopping after SIGKILL");
      await new Promise((r) => setTimeout(r, 20));
    }
    return sent;
  }

  async notifyReady(pid: number): Promise<void> {
    await this.guard("manager", () => this.rpc.call("sd_notify.notify", pid, "READY=1"));
  }

  async fatal(reason: string): Promise<void> {
    await this.guard("manager", () => this.rpc.call("manager_integration.fatal", reason));
  }

  async shutdown(): Promise<void> {
    await this.guard("supervisord", () => this.rpc.shutdown());
  }
}
