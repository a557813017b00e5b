import * as fs from "node:fs";
import * as path from "node:path";
import { luaNum, luaStr } from "../lib/utils/lua-literal.js";
import { OFFLINE_LUA, offlineLua, type OfflineOptions } from "./offline.js";
import { controlCall } from "./control.js";
import { kdigAt, type KdigResult } from "./kdig.js";
import { freePort } from "./ports.js";
import { GroupProcess, waitFor } from "./procs.js";
import { tmpDir } from "./tmp.js";

export const KRESD = "/usr/sbin/kresd";

let started = 0;

export interface KresdOptions {
  /** The Lua config. */
  lua: string;
  /** DNS port on 127.0.0.1 (UDP and TCP). Default: a free port, unless `listen` is false. */
  port?: number;
  /**
   * Append `net.listen('127.0.0.1', port)` to the Lua (default true). Pass false when the Lua
   * listens by itself (then give `port` to have `query()` use it).
   */
  listen?: boolean;
  /** kresd's run directory (its working directory). Default: a fresh temporary directory. */
  rundir?: string;
  /** Extra kresd arguments (before the rundir). */
  args?: string[];
  env?: NodeJS.ProcessEnv;
  /** How long kresd may take to load the config and open its control socket (default 20 s). */
  readyTimeoutMs?: number;
  /**
   * Append the offline guard (offlineLua()) after `lua` (default true). Options tune it (e.g.
   * `{ dnssec: true }`); `false` leaves it out entirely: the test must then keep kresd off the
   * internet itself.
   */
  offline?: boolean | OfflineOptions;
}

/** A running kresd 5.6 that has loaded its config (its control socket answers). */
export class Kresd extends GroupProcess {
  constructor(
    readonly rundir: string,
    readonly configFile: string,
    readonly port: number | undefined,
    args: string[],
    env?: NodeJS.ProcessEnv,
  ) {
    super(KRESD, args, { cwd: rundir, env, name: "kresd" });
  }

  /** The control socket: RUNDIR/control/PID. */
  get controlPath(): string {
    return path.join(this.rundir, "control", String(this.pid));
  }

  /**
   * Evaluates one line of Lua on the control socket and returns kresd's answer as text (a value is
   * printed as kresd prints it, e.g. "2" or a table dump; a Lua error comes back as its message).
   */
  async control(expr: string, timeoutMs = 5000): Promise<string> {
    if (expr.includes("\n")) throw new Error("control(): one line of Lua only");
    const [answer] = await controlCall(this.controlPath, [expr], { timeoutMs });
    return answer as string;
  }

  /** kdig against this kresd's port: `query("localhost", "A")`. */
  query(...args: string[]): Promise<KdigResult> {
    if (this.port === undefined) return Promise.reject(new Error("query(): this kresd has no known port"));
    return kdigAt(this.port, ...args);
  }
}

/**
 * Starts `kresd -n -c FILE RUNDIR` (own process group) with the given Lua, waits until it has loaded
 * the config (the control socket answers; kresd opens it only after the config ran), and returns it.
 * If kresd exits or does not get ready, throws with its stderr. Stopped after the test file at the
 * latest; call `.stop()` to stop it earlier.
 */
export async function startKresd(opts: KresdOptions): Promise<Kresd> {
  const rundir = opts.rundir ?? tmpDir("krm-kresd-");
  const listen = opts.listen ?? true;
  const port = opts.port ?? (listen ? await freePort() : undefined);
  // Debian's kresd opens /var/cache/knot-resolver unless the config opens a cache: a test's
  // kresd gets its own first (a cache.open() in the test's Lua replaces it).
  const cacheDir = path.join(rundir, "harness-cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  let lua = `-- test harness: a cache of its own\ncache.open(10 * MB, ${luaStr(`lmdb://${cacheDir}`)})\n${opts.lua}`;
  if (listen && port !== undefined) {
    lua += `\n-- added by the test harness\nnet.listen(${luaStr("127.0.0.1")}, ${luaNum(port)}, { kind = ${luaStr("dns")} })\n`;
  }
  const offline = opts.offline ?? true;
  if (offline !== false) lua += `\n${offline === true ? OFFLINE_LUA : offlineLua(offline)}`;
  const configFile = path.join(rundir, `harness-${process.pid}-${++started}.lua`);
  fs.writeFileSync(configFile, lua);
  const kresd = new Kresd(
    rundir,
    configFile,
    port,
    ["-n", "-c", configFile, ...(opts.args ?? []), rundir],
    opts.env,
  );
  try {
    await waitFor(
      "kresd did not get ready",
      async () =>
        fs.existsSync(kresd.controlPath) && (await kresd.control("1").catch(() => undefined))
          ? true
          : undefined,
      { timeoutMs: opts.readyTimeoutMs ?? 20000, abort: () => (kresd.running ? undefined : "it exited") },
    );
  } catch (e) {
    await kresd.stop();
    throw new Error(`${(e as Error).message}: ${kresd.describe()}`);
  }
  return kresd;
}
