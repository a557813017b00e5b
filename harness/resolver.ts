/**
 * A whole knot-resolver (supervisord, manager, kresd workers, cache-gc) started through the real
 * bin/knot-resolver in a temporary directory, on a free loopback port, with the offline guard as its
 * `lua` section and the management API on a unix socket in its rundir. Two front ends on the same
 * defaults and process handling:
 *
 * - `startResolver()` → `Resolver`, for tests: config keys merged deeply over the defaults, ready
 *   when the log says so, stopped by SIGTERM (the systemd way), supervisorctl at hand;
 * - `BenchResolver` / `withResolver()`, for benchmarks: ready when the API answers with every worker
 *   running, stopped by POST /stop, leftover processes reported rather than only killed.
 *
 * supervisord puts every program in its own process group: the group kill of GroupProcess would
 * miss them, so both clean up after themselves by their directory (pidsMentioning).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { deepMerge } from "../lib/utils/parsing.js";
import { apiCall, type ApiResponse } from "./api.js";
import { registerProcess, unregisterProcess } from "./cleanup.js";
import { OFFLINE_LUA } from "./offline.js";
import { freePort } from "./ports.js";
import { GroupProcess, pidsMentioning, signalPid, sleep, waitFor, within } from "./procs.js";
import { KNOT_RESOLVER, ensureBuilt, run } from "./repo.js";
import { tmpDir } from "./tmp.js";

/** The config both front ends start from (`lua` and `management` are added by each). */
function defaultConfig(rundir: string, port: number, workers: number, dot?: DotListener) {
  return {
    rundir,
    workers,
    network: {
      listen: [
        { interface: `127.0.0.1@${port}` },
        ...(dot ? [{ interface: `127.0.0.1@${dot.port}`, kind: "dot" }] : []),
        ...(dot?.dohPort ? [{ interface: `127.0.0.1@${dot.dohPort}`, kind: "doh2" }] : []),
        ...(dot?.dohLegacyPort ? [{ interface: `127.0.0.1@${dot.dohLegacyPort}`, kind: "doh-legacy" }] : []),
      ],
      ...(dot ? { tls: { "cert-file": dot.cert, "key-file": dot.key } } : {}),
    },
    cache: { storage: path.join(rundir, "cache"), "size-max": "10M" },
    // Beside the rundir, never the machine's /var/lib/knot-resolver/history (kept across restarts).
    history: { storage: path.join(path.dirname(rundir), "history") },
    logging: { level: "info" },
  };
}

/** A DoT listener on `port` with a certificate for 'localhost' (see tls.ts selfSignedCert). */
export interface DotListener {
  port: number;
  /** Also DoH (`doh2`, served at /dns-query) on this port, with the same certificate. */
  dohPort?: number;
  /** Also legacy DoH (`doh-legacy`, kresd's http module, at /doh) on this port, with the same certificate. */
  dohLegacyPort?: number;
  cert: string;
  key: string;
}

/** A new temporary directory (removed after the test file or at exit) with `run/cache` made. */
function resolverDir(prefix: string): { dir: string; rundir: string } {
  const dir = tmpDir(prefix);
  const rundir = path.join(dir, "run");
  fs.mkdirSync(path.join(rundir, "cache"), { recursive: true });
  return { dir, rundir };
}

const CONFIG_FILE = "config.yaml";

/** Writes `config` as dir/config.yaml and returns its path. */
function writeConfig(dir: string, config: unknown): string {
  const configFile = path.join(dir, CONFIG_FILE);
  // JSON is YAML too; deepMerge's clones come from another realm under jest, which js-yaml refuses.
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));
  return configFile;
}

/** SIGKILL to every live process whose command line names `dir`; returns their PIDs. */
function killMentioning(dir: string): number[] {
  const left = pidsMentioning(dir);
  for (const pid of left) signalPid(pid, "SIGKILL");
  return left;
}

// ---- tests ----

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
  /** The plain DNS port (default: a free one), for a test that writes `network.listen` itself. */
  port?: number;
  /** Also listen for DoT on a free port with this certificate (Resolver.dotPort). */
  dot?: { cert: string; key: string };
  /** Also listen for DoH (`doh2`) on a free port with the `dot` certificate (Resolver.dohPort). */
  doh?: boolean;
  /**
   * Writes the config (test defaults merged with `config`) as these files, given in this order as
   * `-c` options, instead of one JSON config.yaml: e.g. YAML with comments, or split in several.
   */
  files?: (config: Record<string, unknown>) => { name: string; text: string }[];
}

/**
 * A whole knot-resolver (supervisord, manager, kresd workers, cache-gc) started through the real
 * bin/knot-resolver on a free loopback port with its own rundir.
 */
export class Resolver {
  readonly proc: GroupProcess;
  private stopped = false;

  /** The config files, in `-c` order. */
  readonly configFiles: readonly string[];

  constructor(
    readonly dir: string,
    configFiles: string | readonly string[],
    readonly rundir: string,
    readonly port: number,
    env: NodeJS.ProcessEnv,
    /** The DoT port, when asked for one. */
    readonly dotPort?: number,
    /** The DoH port, when asked for one. */
    readonly dohPort?: number,
  ) {
    this.configFiles = typeof configFiles === "string" ? [configFiles] : configFiles;
    this.proc = new GroupProcess(
      KNOT_RESOLVER,
      this.configFiles.flatMap((f) => ["-c", f]),
      {
        env: { ...process.env, ...env },
        name: "knot-resolver",
      },
    );
    // Cleaned up as a whole resolver (killNow), not as the launcher's process group only.
    unregisterProcess(this.proc);
    registerProcess(this);
  }

  /**
   * `knot-resolver -c` once more on the same directory, config and port (e.g. after this one's
   * supervisord was killed); `waitReady` as startResolver's. Stop the new one before this one: this
   * one's clean-up kills whatever still runs in the directory.
   */
  async again(opts: { env?: NodeJS.ProcessEnv; waitReady?: boolean } = {}): Promise<Resolver> {
    const next = new Resolver(this.dir, this.configFiles, this.rundir, this.port, opts.env ?? {});
    if (opts.waitReady ?? true) await next.waitReady();
    return next;
  }

  /** The (first) config file. */
  get configFile(): string {
    return this.configFiles[0] as string;
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
      const m = /^(\S+)\s+([A-Z]+)(?:\s(.*))?$/.exec(line);
      if (!m || m[2] === "STOPPED") continue;
      const pid = /pid (\d+)/.exec(m[3] ?? "");
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
    killMentioning(this.dir);
    unregisterProcess(this);
  }
}

/** Starts bin/knot-resolver on a config of test defaults merged with `opts.config`. */
export async function startResolver(opts: ResolverOptions = {}): Promise<Resolver> {
  ensureBuilt();
  const { dir, rundir } = resolverDir("krm-resolver-");
  const port = opts.port ?? (await freePort());
  const dotPort = opts.dot ? await freePort() : undefined;
  const dohPort = opts.dot && opts.doh ? await freePort() : undefined;
  const management = (opts.config?.management as Record<string, unknown> | undefined) ?? {
    "unix-socket": path.join(rundir, "kres-api.sock"),
  };
  const config = deepMerge(
    {
      ...defaultConfig(
        rundir,
        port,
        2,
        opts.dot && dotPort ? { port: dotPort, dohPort, ...opts.dot } : undefined,
      ),
      // The harness's offline guard: the user's Lua runs last, after everything generated.
      lua: { script: OFFLINE_LUA },
    },
    { ...opts.config, management },
  );
  const configFiles = opts.files
    ? opts.files(config as Record<string, unknown>).map(({ name, text }) => {
        const file = path.join(dir, name);
        fs.writeFileSync(file, text);
        return file;
      })
    : [writeConfig(dir, config)];
  const resolver = new Resolver(dir, configFiles, rundir, port, opts.env ?? {}, dotPort, dohPort);
  if (opts.waitReady ?? true) await resolver.waitReady();
  return resolver;
}

/**
 * The resolvers a test file started, stopped together when it ends
 * (`const resolvers = new Resolvers(); afterAll(() => resolvers.stopAll());`).
 */
export class Resolvers {
  private readonly started: Resolver[] = [];

  /** startResolver, kept to be stopped. */
  async start(opts?: ResolverOptions): Promise<Resolver> {
    return this.keep(await startResolver(opts));
  }

  /** Keeps one started another way (e.g. `again()`). */
  keep(r: Resolver): Resolver {
    this.started.push(r);
    return r;
  }

  /** Newest first: an older resolver's clean-up kills whatever still runs in its directory. */
  async stopAll(): Promise<void> {
    for (const r of this.started.splice(0).reverse()) await r.stop();
  }
}

// ---- benchmarks ----

export interface BenchResolverOptions {
  workers: number;
  /** How long start-up may take until the API answers (default 60 s). */
  readyTimeoutMs?: number;
  /**
   * More top-level config sections (e.g. `local-data`), over the defaults; `lua` is not one of
   * them: the offline guard is the resolver's Lua.
   */
  config?: Record<string, unknown>;
  /** Names the temporary directory (krm-bench-<name>-…); default "apply". */
  name?: string;
  /** Also listen for DoT on a free port with this certificate (BenchResolver.dotPort). */
  dot?: { cert: string; key: string };
  /** Also listen for DoH (`doh2`) on a free port with the `dot` certificate (BenchResolver.dohPort). */
  doh?: boolean;
  /** Also legacy DoH (`doh-legacy`) on a free port with the `dot` certificate (BenchResolver.dohLegacyPort). */
  dohLegacy?: boolean;
}

export class BenchResolver {
  private stopped = false;

  private constructor(
    readonly dir: string,
    readonly rundir: string,
    readonly port: number,
    private readonly proc: GroupProcess,
    readonly spawnedAt: number,
    /** The DoT port, when asked for one. */
    readonly dotPort?: number,
    /** The DoH port, when asked for one. */
    readonly dohPort?: number,
    /** The legacy DoH port, when asked for one. */
    readonly dohLegacyPort?: number,
  ) {
    // Cleaned up as a whole resolver (killNow), not as the launcher's process group only.
    unregisterProcess(proc);
    registerProcess(this);
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
    const { dir, rundir } = resolverDir(`krm-bench-${opts.name ?? "apply"}-`);
    const port = await freePort();
    const dotPort = opts.dot ? await freePort() : undefined;
    const dohPort = opts.dot && opts.doh ? await freePort() : undefined;
    const dohLegacyPort = opts.dot && opts.dohLegacy ? await freePort() : undefined;
    const { lua: _ignored, ...extra } = opts.config ?? {};
    const configFile = writeConfig(dir, {
      ...defaultConfig(
        rundir,
        port,
        opts.workers,
        opts.dot && dotPort ? { port: dotPort, dohPort, dohLegacyPort, ...opts.dot } : undefined,
      ),
      management: { "unix-socket": path.join(rundir, "kres-api.sock") },
      ...extra,
      // Runs last, after everything the manager generates.
      lua: { script: OFFLINE_LUA },
    });
    const spawnedAt = performance.now();
    const proc = new GroupProcess(KNOT_RESOLVER, ["-c", configFile], { name: "knot-resolver" });
    return new BenchResolver(dir, rundir, port, proc, spawnedAt, dotPort, dohPort, dohLegacyPort);
  }

  get pid(): number {
    return this.proc.pid;
  }

  /**
   * bin/knot-resolver once more on the same directory, config and port (e.g. after this one's
   * supervisord was killed); returns at once, as launch(). Stop the new one before this one, whose
   * stop removes the directory.
   */
  again(): BenchResolver {
    const spawnedAt = performance.now();
    const proc = new GroupProcess(KNOT_RESOLVER, ["-c", path.join(this.dir, CONFIG_FILE)], {
      name: "knot-resolver",
    });
    return new BenchResolver(this.dir, this.rundir, this.port, proc, spawnedAt);
  }

  get apiSocket(): string {
    return path.join(this.rundir, "kres-api.sock");
  }

  /** Everything supervisord printed (its lines and its programs', prefixed name[pid]). */
  get log(): string {
    return this.proc.stdout + this.proc.stderr;
  }

  get running(): boolean {
    return this.proc.running;
  }

  /** One request to the API; a body that is not a string goes as JSON, a string as text/plain. */
  api(method: string, urlPath: string, body?: unknown, timeoutMs?: number): Promise<ApiResponse> {
    const headers: Record<string, string> = typeof body === "string" ? { "content-type": "text/plain" } : {};
    return apiCall(this.apiSocket, method, urlPath, { body, headers, timeoutMs });
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
      if (!asked || asked.status !== 200 || !(await within(this.proc.exited, 20_000))) {
        signalPid(this.pid, "SIGTERM");
        if (!(await within(this.proc.exited, 10_000))) signalPid(this.pid, "SIGKILL");
        await within(this.proc.exited, 5000);
      }
    }
    return this.killLeftovers();
  }

  /** Synchronous last resort (interrupted benchmark): SIGKILL to everything of this resolver. */
  killNow(): void {
    this.stopped = true;
    this.proc.killNow();
    this.killLeftovers();
  }

  private killLeftovers(): number[] {
    const left = killMentioning(this.dir);
    fs.rmSync(this.dir, { recursive: true, force: true });
    unregisterProcess(this);
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
