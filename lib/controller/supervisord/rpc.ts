import xmlrpc from "xmlrpc";
import { ControllerError } from "../errors.js";

/** supervisord answered with an XML-RPC fault (e.g. BAD_NAME, ALREADY_STARTED). */
export class SupervisordFault extends ControllerError {
  constructor(
    readonly method: string,
    readonly faultCode: number,
    readonly faultString: string,
  ) {
    super(`supervisord ${method}: ${faultString} (fault ${faultCode})`);
    this.name = "SupervisordFault";
  }
}

/** supervisord could not be reached, or did not answer in time. */
export class SupervisordUnreachable extends ControllerError {
  constructor(
    readonly method: string,
    readonly reason: string,
  ) {
    super(`supervisord ${method}: ${reason}`);
    this.name = "SupervisordUnreachable";
  }
}

/** Fault codes from supervisor/xmlrpc.py, the ones the manager reacts to. */
export const Faults = {
  BAD_NAME: 10,
  NOT_RUNNING: 70,
  ALREADY_STARTED: 60,
  SHUTDOWN_STATE: 6,
} as const;

/** What supervisor.getProcessInfo / getAllProcessInfo return for each process. */
export interface ProcessInfo {
  name: string;
  group: string;
  statename: string;
  state: number;
  pid: number;
  start: number;
  stop: number;
  now: number;
  exitstatus: number;
  spawnerr: string;
  description: string;
}

/** An XML-RPC client for supervisord's unix socket; every call has a timeout. */
export class SupervisordRpc {
  private readonly client: xmlrpc.Client;

  constructor(
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {
    // The options go to http.request, which understands socketPath; the typings do not list it.
    const options: Parameters<typeof xmlrpc.createClient>[0] & { socketPath: string } = {
      socketPath,
      path: "/RPC2",
    };
    this.client = xmlrpc.createClient(options);
  }

  call<T>(method: string, ...params: unknown[]): Promise<T> {
    return this.callWithin<T>(this.timeoutMs, method, ...params);
  }

  /**
   * A call that only reads, so it may be repeated: each attempt gets a third of the timeout, and
   * an attempt that got no answer is retried. A supervisord that is briefly busy or unreachable
   * (restarting its socket, stopped for a moment) costs a retry, one that stays away costs at
   * most the usual timeout, never a hang.
   */
  async read<T>(method: string, ...params: unknown[]): Promise<T> {
    const attempts = 3;
    const each = Math.max(100, Math.floor(this.timeoutMs / attempts));
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callWithin<T>(each, method, ...params);
      } catch (e) {
        if (!(e instanceof SupervisordUnreachable) || attempt >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 50 * attempt));
      }
    }
  }

  /** A call that may legitimately take longer than usual (waiting for a process to start). */
  callWithin<T>(timeoutMs: number, method: string, ...params: unknown[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SupervisordUnreachable(method, `no answer within ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.client.methodCall(method, params, (err: unknown, value: unknown) => {
        clearTimeout(timer);
        if (!err) return resolve(value as T);
        const e = err as { faultCode?: number; faultString?: string; code?: string; message?: string };
        if (typeof e.faultCode === "number") {
          reject(new SupervisordFault(method, e.faultCode, e.faultString ?? ""));
        } else {
          reject(new SupervisordUnreachable(method, e.code ?? e.message ?? String(err)));
        }
      });
    });
  }

  getPID(): Promise<number> {
    return this.read("supervisor.getPID");
  }
  getAllProcessInfo(): Promise<ProcessInfo[]> {
    // the plugin's list (fast_rpcinterface): stopped workers too, never-started slots not
    return this.read("fast.getAllProcessInfo");
  }
  getProcessInfo(name: string): Promise<ProcessInfo> {
    return this.read("supervisor.getProcessInfo", name);
  }
  reloadConfig(): Promise<[string[], string[], string[]][]> {
    return this.call("supervisor.reloadConfig");
  }
  addProcessGroup(name: string): Promise<boolean> {
    return this.call("supervisor.addProcessGroup", name);
  }
  removeProcessGroup(name: string): Promise<boolean> {
    return this.call("supervisor.removeProcessGroup", name);
  }
  shutdown(): Promise<boolean> {
    return this.call("supervisor.shutdown");
  }
}
