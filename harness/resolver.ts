import * as fs from "node:fs";
import * as path from "node:path";
import { deepMerge } from "../lib/utils/parsing.js";
import { pidsMentioning, signalPid } from "./bench-procs.js";
import { registerProcess, unregisterProcess } from "./cleanup.js";
import { freePort } from "./ports.js";
import { OFFLINE_LUA } from "./kresd.js";
import { GroupProcess, waitFor } from "./procs.js";
import { KNOT_RESOLVER, ensureBuilt, run } from "./repo.js";
import { tmpDir } from "./tmp.js";

export interface ProcessRow {
  state: string;
  pid?: number;
}

export interface ResolverOptions {
  /** Config keys merged over the test defaults (rundir, listen, cache, offline Lua). */
  config?: Record<string, unknown>;
  /** Extra environment for bin/knot-resolver. */
  env?: NodeJS.ProcessEnv;
  /** Wait until the manager reports ready (default true). */
  waitReady?: boolean;
}

/**
 * A whole knot-resolver (supervisord, manager, kresd workers, cache-gc) started through the real
 * bin/knot-resolver on a free loopback port with its own rundir.
 */
export class Resolver {
  readonly proc: GroupProcess;
  private stopped = false;

  constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly rundir: string,
    readonly port: number,
    env: NodeJS.ProcessEnv,
  ) {
    this.proc = new GroupProcess(KNOT_RESOLVER, ["-c", configFile], {
      env: { ...process.env, ...env },
      name: "knot-resolver",
    });
    // supervisord puts every program in its own process group: the group kill of GroupProcess
    // would miss them, so this resolver cleans up after itself by its directory.
    unregisterProcess(this.proc);
    registerProcess(this);
  }

  /** The launcher's PID: the one systemd would watch, supervisord's after the exec. */
  get pid(): number {
    return this.proc.pid;
  }

  /** Everything supervisord logged (its own lines and the programs', prefixed name[pid]). */
  get log(): string {
    return this.proc.stdout + this.proc.stderr;
  }

  /** The management API socket of the test config (unless a test moved it). */
  get apiSocket(): string {
    return path.join(this.rundir, "kres-api.sock");
  }

  get supervisordConf(): string {
    return path.join(this.rundir, "supervisord.conf");
  }

  async supervisorctl(...args: string[]): Promise<string> {
    const r = await run("/usr/bin/supervisorctl", ["-c", this.supervisordConf, ...args]);
    return r.stdout;
  }

  /** supervisorctl status as a map name → state and PID (stopped slots left out). */
  async status(): Promise<Map<string, ProcessRow>> {
    const rows = new Map<string, ProcessRow>();
    for (const line of (await this.supervisorctl("status")).split("\n")) {
      const m = /^(\S+)\s+([A-Z]+)\s*(.*)$/.exec(line);
      if (!m || m[2] === "STOPPED") continue;
      const pid = /pid (\d+)/.exec(m[3] as string);
      rows.set(m[1] as string, { state: m[2] as string, pid: pid ? Number(pid[1]) : undefined });
    }
    return rows;
  }

  async pidOf(name: string): Promise<number | undefined> {
    return (await this.status()).get(name)?.pid;
  }

  async waitReady(timeoutMs = 30000): Promise<void> {
    await waitFor(
      "knot-resolver ready",
      () => (this.log.includes("knot-resolver is ready") ? true : undefined),
      {
        timeoutMs,
        intervalMs: 50,
        abort: () => (this.proc.running ? undefined : this.proc.describe() + "\n" + this.proc.stdout),
      },
    );
  }

  /** PIDs of live processes that belong to this resolver (their command line names its dir). */
  leftovers(): number[] {
    return pidsMentioning(this.dir);
  }

  /** SIGTERM to the main PID and wait; anything left behind is killed and reported by the caller. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.proc.stop({ timeoutMs: 20000 });
    this.killNow();
  }

  killNow(): void {
    this.stopped = true;
    this.proc.killNow();
    for (const pid of this.leftovers()) signalPid(pid, "SIGKILL");
    unregisterProcess(this);
  }
}

/** Starts bin/knot-resolver on a config of test defaults merged with `opts.config`. */
export async function startResolver(opts: ResolverOptions = {}): Promise<Resolver> {
  ensureBuilt();
  const dir = tmpDir("krm-resolver-");
  const rundir = path.join(dir, "run");
  fs.mkdirSync(path.join(rundir, "cache"), { recursive: true });
  const port = await freePort();
  const management = (opts.config?.management as Record<string, unknown> | undefined) ?? {
    "unix-socket": path.join(rundir, "kres-api.sock"),
  };
  const config = deepMerge(
    {
      rundir,
      workers: 2,
      "max-workers": 4,
      network: { listen: [{ interface: `127.0.0.1@${port}` }] },
      cache: { storage: path.join(rundir, "cache"), "size-max": "10M" },
      logging: { level: "info" },
      // The harness's offline guard: the user's Lua runs last, after everything generated.
      lua: { script: OFFLINE_LUA },
    },
    { ...opts.config, management },
  );
  const configFile = path.join(dir, "config.yaml");
  // JSON is YAML too; deepMerge's clones come from another realm under jest, which js-yaml refuses.
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  const resolver = new Resolver(dir, configFile, rundir, port, opts.env ?? {});
  if (opts.waitReady ?? true) await resolver.waitReady();
  return resolver;
}
