/**
 * A whole knot-resolver (supervisord, manager, kresd workers, cache-gc) for a benchmark, started
 * through the real bin/knot-resolver in a temporary directory, on a free loopback port, with the
 * offline guard as its `lua` section and the management API on a unix socket in its rundir.
 */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { projectRoot } from "../lib/utils/paths.js";
import { apiRequest, type ApiAnswer } from "./bench-api.js";
import { OFFLINE_GUARD_LUA } from "./offline.js";
import { freePort, onExitCleanup, pidsMentioning, signalPid, sleep, within } from "./bench-procs.js";

export interface BenchResolverOptions {
  workers: number;
  maxWorkers: number;
  /** How long start-up may take until the API answers (default 60 s). */
  readyTimeoutMs?: number;
  /**
   * More top-level config sections (e.g. `local-data`), over the defaults; `lua` is not one of
   * them: the offline guard is the resolver's Lua.
   */
  config?: Record<string, unknown>;
  /** Names the temporary directory (krm-bench-<name>-…); default "apply". */
  name?: string;
}

export class BenchResolver {
  private output = "";
  private stopped = false;
  private readonly exited: Promise<void>;
  private readonly forgetCleanup: () => void;

  private constructor(
    readonly dir: string,
    readonly rundir: string,
    readonly port: number,
    private readonly child: ChildProcess,
    readonly spawnedAt: number,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("close", () => resolve());
      child.once("error", (e) => {
        this.output += `bin/knot-resolver: ${e.message}\n`;
        resolve();
      });
    });
    const keep = (d: string) => (this.output = (this.output + d).slice(-1024 * 1024));
    child.stdout?.setEncoding("utf8").on("data", keep);
    child.stderr?.setEncoding("utf8").on("data", keep);
    this.forgetCleanup = onExitCleanup(() => this.killNow());
  }

  /** Starts bin/knot-resolver and waits until its API answers with every worker running. */
  static async start(opts: BenchResolverOptions): Promise<BenchResolver> {
    const resolver = await BenchResolver.launch(opts);
    try {
      await resolver.waitReady(opts.workers, opts.readyTimeoutMs ?? 60_000);
    } catch (e) {
      const tail = resolver.log.trim().split("\n").slice(-20).join("\n");
      await resolver.stop();
      throw new Error(`${(e as Error).message}\n${tail}`);
    }
    return resolver;
  }

  /**
   * Starts bin/knot-resolver and returns at once (`spawnedAt` is performance.now() just before the
   * spawn); `waitReady` then waits for the API and the workers.
   */
  static async launch(opts: BenchResolverOptions): Promise<BenchResolver> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `krm-bench-${opts.name ?? "apply"}-`));
    const rundir = path.join(dir, "run");
    fs.mkdirSync(path.join(rundir, "cache"), { recursive: true });
    const port = await freePort();
    const { lua: _ignored, ...extra } = opts.config ?? {};
    const config = {
      rundir,
      workers: opts.workers,
      "max-workers": opts.maxWorkers,
      network: { listen: [{ interface: `127.0.0.1@${port}` }] },
      cache: { storage: path.join(rundir, "cache"), "size-max": "10M" },
      logging: { level: "info" },
      management: { "unix-socket": path.join(rundir, "kres-api.sock") },
      ...extra,
      // Runs last, after everything the manager generates.
      lua: { script: OFFLINE_GUARD_LUA },
    };
    const configFile = path.join(dir, "config.yaml");
    fs.writeFileSync(configFile, JSON.stringify(config, null, 2)); // JSON is YAML too
    const spawnedAt = performance.now();
    const child = spawn(path.join(projectRoot(), "bin/knot-resolver"), ["-c", configFile], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    return new BenchResolver(dir, rundir, port, child, spawnedAt);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get apiSocket(): string {
    return path.join(this.rundir, "kres-api.sock");
  }

  /** Everything supervisord printed (its lines and its programs', prefixed name[pid]). */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** One request to the API; a body that is not a string goes as JSON. */
  api(method: string, urlPath: string, body?: unknown, timeoutMs?: number): Promise<ApiAnswer> {
    const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
    const headers: Record<string, string> = {};
    if (payload !== undefined) {
      headers["content-type"] = typeof body === "string" ? "text/plain" : "application/json";
      headers["content-length"] = String(Buffer.byteLength(payload));
    }
    return apiRequest(this.apiSocket, method, urlPath, { payload, headers, timeoutMs });
  }

  /** PIDs of the running kresd workers, as GET /processes/kresd lists them, sorted. */
  async workerPids(): Promise<number[]> {
    const r = await this.api("GET", "/processes/kresd");
    if (r.status !== 200 || !Array.isArray(r.json))
      throw new Error(`GET /processes/kresd answered ${r.status}: ${r.text}`);
    return (r.json as { pid: number; status: string }[])
      .filter((p) => p.status === "running")
      .map((p) => p.pid)
      .sort((a, b) => a - b);
  }

  /** The manager's PID, as GET / reports it. */
  async managerPid(timeoutMs = 5000): Promise<number> {
    const r = await this.api("GET", "/", undefined, timeoutMs);
    const pid = (r.json as { pid?: unknown } | undefined)?.pid;
    if (r.status !== 200 || typeof pid !== "number") throw new Error(`GET / answered ${r.status}: ${r.text}`);
    return pid;
  }

  /** Waits until the API answers GET / and `workers` workers run. */
  async waitReady(workers: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "no answer yet";
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`knot-resolver exited during start-up (${last})`);
      if (fs.existsSync(this.apiSocket)) {
        try {
          const r = await this.api("GET", "/", undefined, 5000);
          if (r.status === 200) {
            const pids = await this.workerPids();
            if (pids.length === workers) return;
            last = `${pids.length} of ${workers} workers running`;
          } else last = `GET / answered ${r.status}`;
        } catch (e) {
          last = (e as Error).message;
        }
      }
      await sleep(50);
    }
    throw new Error(`knot-resolver not ready within ${timeoutMs} ms (${last})`);
  }

  /**
   * POST /stop and wait for the main PID (supervisord) to exit; SIGTERM to it, then SIGKILL, if it
   * does not. Anything of this resolver still alive afterwards is killed; the directory is removed.
   * Returns the PIDs that had to be killed that way (none when the stop was clean).
   */
  async stop(): Promise<number[]> {
    if (this.stopped) return [];
    this.stopped = true;
    if (this.running) {
      const asked = await this.api("POST", "/stop", undefined, 5000).catch(() => undefined);
      if (!asked || asked.status !== 200 || !(await within(this.exited, 20_000))) {
        signalPid(this.pid, "SIGTERM");
        if (!(await within(this.exited, 10_000))) signalPid(this.pid, "SIGKILL");
        await within(this.exited, 5000);
      }
    }
    const leftovers = this.killLeftovers();
    this.forgetCleanup();
    return leftovers;
  }

  /** Synchronous last resort (interrupted benchmark): SIGKILL to everything of this resolver. */
  killNow(): void {
    this.stopped = true;
    signalPid(this.pid, "SIGKILL");
    this.killLeftovers();
  }

  private killLeftovers(): number[] {
    // supervisord puts each program in a process group of its own: find them by their directory.
    const left = pidsMentioning(this.dir);
    for (const pid of left) signalPid(pid, "SIGKILL");
    fs.rmSync(this.dir, { recursive: true, force: true });
    return left;
  }
}

/** What withResolver did. */
export interface ResolverRun<T> {
  /** What the body returned; undefined when start-up or the body failed. */
  value?: T;
  /** The message of what start-up or the body threw. */
  error?: string;
  /** The PIDs left alive after the stop, killed (none when the stop was clean). */
  leftovers: number[];
}

export interface ResolverRunReport {
  progress: (msg: string) => void;
  /** Starts the progress lines "FAILED: …" and "killed leftover PIDs after stop: …". */
  label?: string;
  /** No "FAILED" line: the caller reports the outcome itself. */
  quiet?: boolean;
  /** Runs after the body, whatever happened, while the resolver is still up (e.g. to read its log). */
  beforeStop?: (resolver: BenchResolver) => void;
}

/**
 * A benchmark's scaffolding around one resolver: starts it (`launch`: returns at once instead of
 * waiting for readiness), runs `body` on it, and stops it however that went, reporting a failure and
 * any leftover processes as progress lines.
 */
export async function withResolver<T>(
  opts: BenchResolverOptions & { launch?: boolean },
  report: ResolverRunReport,
  body: (resolver: BenchResolver) => Promise<T>,
): Promise<ResolverRun<T>> {
  const { progress, label = "" } = report;
  const run: ResolverRun<T> = { leftovers: [] };
  let resolver: BenchResolver | undefined;
  try {
    resolver = await (opts.launch ? BenchResolver.launch(opts) : BenchResolver.start(opts));
    run.value = await body(resolver);
  } catch (e) {
    run.error = (e as Error).message;
    if (!report.quiet) progress(`${label}FAILED: ${run.error}`);
  } finally {
    if (resolver) {
      report.beforeStop?.(resolver);
      run.leftovers = await resolver.stop();
      if (run.leftovers.length)
        progress(`${label}killed leftover PIDs after stop: ${run.leftovers.join(", ")}`);
    }
  }
  return run;
}
