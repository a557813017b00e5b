// Starts real kresd 5.6 workers with the Lua rendered from cache / options / lua configs and
// checks they start without Lua errors, answer DNS, and show the configured effects.
// Ports 24000-24499 belong to this file. Every kresd gets the harness's offline guard after its
// config (harness/offline.ts), so it sends nothing to the internet.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { cacheGcArgs, KRES_CACHE_GC } from "../../lib/controller/cache-gc.js";
import type { KresConfig } from "../../lib/datamodel/config.js";
import { ConfigValidationError } from "../../lib/datamodel/errors.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { luaStr } from "../../lib/utils/lua-literal.js";
import { controlCall, luaStringAnswerText } from "../../harness/control.js";
import { OFFLINE_LUA, offlineLua } from "../../harness/offline.js";

const KRESD = "/usr/sbin/kresd";
const run = promisify(execFile);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kres-col-"));
const started: ChildProcess[] = [];
let nextPort = 24100;

afterEach(() => {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freshDir(name: string): string {
  const dir = fs.mkdtempSync(path.join(tmp, `${name}-`));
  return dir;
}

/**
 * Validates `data` listening on 127.0.0.1@port. Uses the network section's upstream format when
 * that section accepts it; otherwise (section not there yet) appends a net.listen of its own.
 */
function render(data: Record<string, unknown>, port: number): { cfg: KresConfig; lua: string } {
  try {
    const cfg = validateConfig({ ...data, network: { listen: [{ interface: [`127.0.0.1@${port}`] }] } });
    return { cfg, lua: renderWorkerLua(cfg) };
  } catch (e) {
    if (!(e instanceof ConfigValidationError) || !e.problems.every((p) => p.pointer.startsWith("/network"))) {
      throw e;
    }
  }
  const cfg = validateConfig(data);
  const listen = cfg.lua["script-only"]
    ? ""
    : `net.listen(${luaStr("127.0.0.1")}, ${port}, {kind = "dns"})\n`;
  return { cfg, lua: renderWorkerLua(cfg) + listen };
}

interface Worker {
  proc: ChildProcess;
  rundir: string;
  port: number;
  output: () => string;
}

async function dig(port: number, name: string, ...flags: string[]): Promise<string> {
  const { stdout } = await run("kdig", [
    `@127.0.0.1`,
    "-p",
    String(port),
    name,
    "A",
    "+timeout=1",
    "+retry=0",
    ...flags,
  ]);
  return stdout;
}

async function startKresd(lua: string, rundir: string, port: number, offline = OFFLINE_LUA): Promise<Worker> {
  const file = path.join(rundir, "kresd.lua");
  fs.writeFileSync(file, `${lua}\n${offline}`);
  const proc = spawn(KRESD, ["-n", "-c", file, rundir], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const worker = { proc, rundir, port, output: () => out };
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`kresd exited (${proc.exitCode ?? proc.signalCode}):\n${out}\n--- config:\n${lua}`);
    }
    try {
      if ((await dig(port, "localhost", "+short")).trim() === "127.0.0.1") return worker;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kresd did not answer on port ${port}:\n${out}`);
}

/** Evaluates Lua expressions on the worker's control socket, one answer each (strings unquoted). */
async function control(w: Worker, ...exprs: string[]): Promise<string[]> {
  const answers = await controlCall(path.join(w.rundir, "control", String(w.proc.pid)), exprs);
  return answers.map((a) => (a.startsWith("'") ? luaStringAnswerText(a) : a));
}

/** What a started worker printed that would mean the config did not load cleanly. */
function configErrors(output: string): string[] {
  return output.split("\n").filter((l) => /error|traceback|attempt to/i.test(l));
}

/** The kresd modules the `options` switches load or leave out. */
const SWITCHED_MODULES = [
  "priming",
  "detect_time_jump",
  "refuse_nord",
  "rebinding",
  "workarounds",
  "serve_stale",
];

const MARKER_LUA = [
  "policy.add(policy.suffix(policy.ANSWER({[kres.type.A] = {rdata = kres.str2ip('192.0.2.7'), ttl = 300}}),",
  "  {todname('marker.test.')}))",
  "lua_section_marker = 'set by the lua section'",
].join("\n");

describe("kresd 5.6 with cache, options and lua sections", () => {
  it("opens the cache at the configured size, sets TTL bounds, switches all options off, runs the script", async () => {
    const port = nextPort++;
    const rundir = freshDir("off");
    const storage = freshDir("cache-off");
    const { cfg, lua } = render(
      {
        rundir,
        cache: { storage, "size-max": "20M", "ttl-min": "2d", "ttl-max": "10d", "ns-timeout": "250ms" },
        options: {
          "glue-checking": "strict",
          minimize: false,
          "query-loopback": false,
          "reorder-rrset": false,
          "query-case-randomization": false,
          priming: false,
          "rebinding-protection": false,
          "refuse-no-rd": false,
          "time-jump-detection": false,
          "violators-workarounds": false,
          "serve-stale": false,
        },
        lua: { script: MARKER_LUA },
      },
      port,
    );
    const w = await startKresd(lua, rundir, port);

    expect(fs.statSync(path.join(storage, "data.mdb")).size).toBe(20 * 1024 * 1024);
    const [ttl, flags, modules, marker] = await control(
      w,
      "table.concat({cache.min_ttl(), cache.max_ttl(), cache.ns_tout()}, ' ')",
      "table.concat({mode(), tostring(option('NO_MINIMIZE')), tostring(option('ALLOW_LOCAL')), " +
        "tostring(option('REORDER_RR')), tostring(option('NO_0X20'))}, ' ')",
      "table.concat(modules.list(), ' ')",
      "lua_section_marker",
    );
    expect(ttl).toBe(`${2 * 86400} ${10 * 86400} 250`);
    expect(flags).toBe("strict true false false true");
    const loaded = modules?.split(" ") ?? [];
    for (const m of SWITCHED_MODULES) {
      expect(loaded).not.toContain(m);
    }
    expect(marker).toBe("set by the lua section");

    // refuse-no-rd off: a query without RD is answered rather than refused.
    expect(await dig(port, "localhost", "+nordflag")).toContain("status: NOERROR");
    expect((await dig(port, "marker.test", "+short")).trim()).toBe("192.0.2.7");
    expect(configErrors(w.output())).toEqual([]);

    // The garbage collector arguments for this cache are accepted by kres-cache-gc 5.6.
    const gc = spawn(KRES_CACHE_GC, cacheGcArgs(cfg), { stdio: ["ignore", "pipe", "pipe"] });
    started.push(gc);
    let gcOut = "";
    gc.stdout.on("data", (d: Buffer) => (gcOut += d.toString()));
    gc.stderr.on("data", (d: Buffer) => (gcOut += d.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    expect({ exit: gc.exitCode, out: gcOut }).toEqual({
      exit: null,
      out: expect.not.stringMatching(/Usage|Error/),
    });
  });

  it("switches all options on, loads prefetch with prediction, and runs a script file", async () => {
    const port = nextPort++;
    const rundir = freshDir("on");
    const storage = freshDir("cache-on");
    const scriptFile = path.join(rundir, "custom.lua");
    fs.writeFileSync(scriptFile, MARKER_LUA);
    const { lua } = render(
      {
        rundir,
        cache: {
          storage,
          "size-max": "1M",
          "ttl-min": "1s",
          "ttl-max": "3s",
          prefetch: { expiring: true, prediction: { enable: true, window: "10m", period: 6 } },
        },
        options: {
          "glue-checking": "permissive",
          minimize: true,
          "query-loopback": true,
          "reorder-rrset": true,
          "query-case-randomization": true,
          priming: true,
          "rebinding-protection": true,
          "refuse-no-rd": true,
          "time-jump-detection": true,
          "violators-workarounds": true,
          "serve-stale": true,
        },
        lua: { "script-file": scriptFile },
      },
      port,
    );
    // The test checks that priming and detect_time_jump are loaded: the guard leaves them be (what
    // priming resolves still goes only to the guard's loopback root hints).
    const w = await startKresd(lua, rundir, port, offlineLua({ keep: ["priming", "detect_time_jump"] }));

    expect(fs.statSync(path.join(storage, "data.mdb")).size).toBe(1024 * 1024);
    const [ttl, flags, modules, predict, marker] = await control(
      w,
      "table.concat({cache.min_ttl(), cache.max_ttl()}, ' ')",
      "table.concat({mode(), tostring(option('NO_MINIMIZE')), tostring(option('ALLOW_LOCAL')), " +
        "tostring(option('REORDER_RR')), tostring(option('NO_0X20'))}, ' ')",
      "table.concat(modules.list(), ' ')",
      "table.concat({predict.window, predict.period}, ' ')",
      "lua_section_marker",
    );
    expect(ttl).toBe("1 3");
    expect(flags).toBe("permissive false true true false");
    const loaded = modules?.split(" ") ?? [];
    for (const m of SWITCHED_MODULES) {
      expect(loaded).toContain(m);
    }
    expect(loaded).toEqual(expect.arrayContaining(["predict", "stats"]));
    expect(predict).toBe("10 6");
    expect(marker).toBe("set by the lua section");

    // refuse-no-rd on: a query without RD is refused.
    expect(await dig(port, "localhost", "+nordflag")).toContain("status: REFUSED");
    expect((await dig(port, "marker.test", "+short")).trim()).toBe("192.0.2.7");
    expect(configErrors(w.output())).toEqual([]);
  });

  it("loads prefill for the root zone (the download itself may fail offline)", async () => {
    const port = nextPort++;
    const rundir = freshDir("prefill");
    const { lua } = render(
      {
        rundir,
        cache: {
          storage: freshDir("cache-prefill"),
          // Nothing listens on 24499 (ours): the download fails at once, offline or not.
          prefill: [{ origin: ".", url: "https://127.0.0.1:24499/root.zone", "refresh-interval": "2h" }],
          prefetch: { expiring: true },
        },
      },
      port,
    );
    const w = await startKresd(lua, rundir, port);
    const [modules, predictPeriod] = await control(w, "table.concat(modules.list(), ' ')", "predict.period");
    expect(modules?.split(" ")).toEqual(expect.arrayContaining(["prefill", "predict"]));
    expect(predictPeriod).toBe("0");
    expect(w.output()).not.toMatch(/traceback|error while loading config/i);
  });

  it("with lua.script-only, runs the script alone", async () => {
    const port = nextPort++;
    const rundir = freshDir("script-only");
    const { lua } = render(
      {
        rundir,
        cache: { storage: freshDir("cache-script-only") },
        lua: {
          "script-only": true,
          script: `net.listen('127.0.0.1', ${port}, {kind = 'dns'})\n${MARKER_LUA}`,
        },
      },
      port,
    );
    expect(lua).not.toContain("cache.open");
    const w = await startKresd(lua, rundir, port);
    expect((await dig(port, "marker.test", "+short")).trim()).toBe("192.0.2.7");
    expect(configErrors(w.output())).toEqual([]);
  });
});
