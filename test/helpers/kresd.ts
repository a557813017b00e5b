import * as fs from "node:fs";
import * as path from "node:path";
import { luaNum, luaStr, luaStrList } from "../../lib/utils/lua.js";
import { controlCall } from "./control.js";
import { kdigAt, type KdigResult } from "./kdig.js";
import { freePort } from "./ports.js";
import { GroupProcess, waitFor } from "./procs.js";
import { tmpDir } from "./tmp.js";

export const KRESD = "/usr/sbin/kresd";

let started = 0;

/**
 * Modules kresd 5.6 loads by default that send queries of their own: root priming, time-skew
 * detection, RFC 5011 trust-anchor upkeep and key-tag signalling (all through the root hints), plus
 * the sentinel and time-jump detection (no traffic, but part of the same self-driven machinery).
 */
export const OFFLINE_MODULES = [
  "priming",
  "detect_time_skew",
  "detect_time_jump",
  "ta_update",
  "ta_signal_query",
  "ta_sentinel",
] as const;

/** Loopback root hints: anything kresd would iterate from the root goes to 127.0.0.1 instead. */
const LOOPBACK_ROOT = "root.invalid.";

export interface OfflineOptions {
  /**
   * Keep DNSSEC validation on: the root trust anchor (and any other) stays, and so does `ta_update`
   * (its RFC 5011 refreshes then go to the loopback root hints like every other iteration). For
   * tests that need validation; they must not reach the internet another way.
   */
  dnssec?: boolean;
  /**
   * Modules of OFFLINE_MODULES to leave loaded, for a test that checks the config loaded them. Their
   * queries still only go to the loopback root hints.
   */
  keep?: readonly string[];
}

/**
 * Lua appended after a test's kresd config so that kresd sends nothing to the internet (there is no
 * internet here, and traffic to public addresses is flagged): the self-driven modules are unloaded
 * (OFFLINE_MODULES; those not loaded are skipped), the root trust anchor is removed (no DNSKEY
 * upkeep, no DS lookups up to the root), and the root hints point at 127.0.0.1 only, so a name
 * kresd cannot answer locally is iterated against loopback and fails there. Prints and logs nothing.
 *
 * What the config itself sends somewhere is not the guard's business: forward targets, graphite
 * hosts, prefill URLs… in a test config must be loopback addresses. (A forward rule for '.' catches
 * every query in kresd 5.6, even the 'localhost' readiness probe.)
 */
export function offlineLua(opts: OfflineOptions = {}): string {
  const keep = new Set<string>(opts.keep ?? []);
  if (opts.dnssec) keep.add("ta_update");
  const unload = OFFLINE_MODULES.filter((m) => !keep.has(m));
  const lines = ["-- test harness: keep this kresd offline (test/helpers/kresd.ts)"];
  if (!opts.dnssec) lines.push(`trust_anchors.remove(${luaStr(".")})`);
  lines.push(
    "do",
    "\tlocal loaded = {}",
    "\tfor _, name in ipairs(modules.list()) do loaded[name] = true end",
    `\tfor _, name in ipairs(${luaStrList(unload)}) do`,
    "\t\tif loaded[name] then pcall(modules.unload, name) end",
    "\tend",
    "end",
    `modules.load(${luaStr("hints > iterate")})`,
    `hints.root({[${luaStr(LOOPBACK_ROOT)}] = {${luaStr("127.0.0.1")}}})`,
  );
  return lines.join("\n") + "\n";
}

/** The offline guard with every default (see offlineLua); startKresd() appends it unless told not to. */
export const OFFLINE_LUA = offlineLua();

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
