// The supervisord plugins (supervisord-plugins/kres_supervisord) against Debian's real
// /usr/bin/supervisord 4.2.5 and kresd 5.6. Every test runs its own supervisord on a
// config in a temporary directory; kresd listens on 127.0.0.1 ports 26100-26199, with the
// harness's offline guard after its config (harness/offline.ts).
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { OFFLINE_LUA } from "../../harness/offline.js";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const PLUGINS = path.join(REPO, "supervisord-plugins");
const FIXTURES = path.join(REPO, "test/fixtures/supervisord");
const SUPERVISORD = "/usr/bin/supervisord";
const SUPERVISORCTL = "/usr/bin/supervisorctl";
// Debian's interpreter: the first python3 on PATH may lack the supervisor module.
const PYTHON = "/usr/bin/python3";
const KRESD = "/usr/sbin/kresd";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** `promise`, or `onTimeout()` after `ms` (the timer does not outlive the race). */
async function within<T>(promise: Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve, reject) => {
    timer = setTimeout(() => {
      try {
        resolve(onTimeout());
      } catch (error) {
        reject(error);
      }
    }, ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function run(file: string, args: string[], env?: NodeJS.ProcessEnv) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(file, args, { env: env ?? process.env, timeout: 30000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** PIDs whose parent is `pid` (supervisord's children each lead their own process group). */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) children.push(Number(entry));
    } catch {
      // raced with its exit
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  // a zombie still answers kill(0)
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

function killQuietly(pid: number, signal: NodeJS.Signals) {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

const PLUGIN_SECTIONS = `
[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[rpcinterface:manager_integration]
supervisor.rpcinterface_factory = kres_supervisord.manager_integration:inject

[rpcinterface:sd_notify]
supervisor.rpcinterface_factory = kres_supervisord.sd_notify:inject

[rpcinterface:fast]
supervisor.rpcinterface_factory = kres_supervisord.fast_rpcinterface:make_main_rpcinterface
`;

interface ProgramOptions {
  command: string;
  notify?: boolean;
  [key: string]: string | number | boolean | undefined;
}
type Programs = Record<string, ProgramOptions>;

interface SupervisordOptions {
  env?: NodeJS.ProcessEnv;
  /** patch_logger's `target`; without it, supervisord's own stdout handler (-n, not silent) */
  logTarget?: "stdout" | "stderr";
}

/** One real supervisord with our plugins, in its own temporary directory. */
class Supervisord {
  readonly conf: string;
  readonly socket: string;
  output = "";
  stdout = "";
  exitCode: number | null = null;
  private child?: ChildProcess;
  private exited?: Promise<number | null>;

  constructor(
    readonly dir: string,
    private readonly programs: Programs,
    private readonly options: SupervisordOptions = {},
  ) {
    this.conf = path.join(dir, "supervisord.conf");
    this.socket = path.join(dir, "supervisor.sock");
  }

  /** `programs` may be built from the temporary directory (kresd needs its rundir there). */
  static async create(
    name: string,
    programs: Programs | ((dir: string) => Promise<Programs>),
    options: SupervisordOptions = {},
  ) {
    const dir = await mkdtemp(path.join(tmpdir(), `kres-sv-${name}-`));
    return new Supervisord(dir, typeof programs === "function" ? await programs(dir) : programs, options);
  }

  private render(): string {
    // logfile=/dev/stdout would fail: node's stdio pipes are sockets (ENXIO), as journald's are
    const target = this.options.logTarget;
    let text = `[supervisord]
nodaemon = true
logfile = /dev/null
logfile_maxbytes = 0
silent = ${target ? "true" : "false"}
loglevel = info
pidfile = ${this.dir}/supervisord.pid
childlogdir = ${this.dir}
directory = ${this.dir}

[unix_http_server]
file = ${this.socket}

[supervisorctl]
serverurl = unix://${this.socket}

[rpcinterface:patch_logger]
supervisor.rpcinterface_factory = kres_supervisord.patch_logger:inject
${target ? `target = ${target}` : ""}
${PLUGIN_SECTIONS}`;
    for (const [name, { command, notify, ...rest }] of Object.entries(this.programs)) {
      const settings: Record<string, string | number | boolean | undefined> = {
        command,
        stdout_logfile: "NONE",
        stderr_logfile: "NONE",
        ...rest,
      };
      if (notify) settings.environment = "X-SUPERVISORD-TYPE=notify";
      text += `\n[program:${name}]\n`;
      for (const [key, value] of Object.entries(settings)) {
        if (value !== undefined) text += `${key} = ${String(value)}\n`;
      }
    }
    return text;
  }

  async start() {
    await writeFile(this.conf, this.render());
    const child = spawn(SUPERVISORD, ["-n", "-c", this.conf], {
      env: { ...process.env, PYTHONPATH: PLUGINS, ...this.options.env },
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    child.stdout.on("data", (chunk: Buffer) => {
      this.output += chunk.toString();
      this.stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) =>
      child.on("exit", (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
    await waitFor("supervisord's socket", () => existsSync(this.socket) || this.exitCode !== null);
    if (this.exitCode !== null) throw new Error(`supervisord exited (${this.exitCode}):\n${this.output}`);
  }

  get pid(): number {
    if (this.child?.pid === undefined) throw new Error("supervisord not started");
    return this.child.pid;
  }

  async ctl(...args: string[]) {
    return run(SUPERVISORCTL, ["-c", this.conf, ...args]);
  }

  /** `supervisorctl status NAME` → its state column (RUNNING, STARTING, FATAL…). */
  async state(name: string): Promise<string> {
    const { stdout } = await this.ctl("status", name);
    return stdout.trim().split(/\s+/)[1] ?? "";
  }

  async waitState(name: string, state: string, timeoutMs = 15000) {
    return waitFor(
      `${name} to be ${state}`,
      async () => ((await this.state(name)) === state ? true : undefined),
      timeoutMs,
    );
  }

  async pidOf(name: string): Promise<number> {
    const { stdout } = await this.ctl("pid", name);
    return Number(stdout.trim());
  }

  /** Calls an XML-RPC method with /usr/bin/python3's client over the unix socket. */
  async rpc(method: string, ...args: unknown[]) {
    const { stdout, stderr } = await run(PYTHON, [
      path.join(FIXTURES, "xmlrpc-call.py"),
      this.socket,
      method,
      ...args.map((a) => JSON.stringify(a)),
    ]);
    if (!stdout.trim()) throw new Error(`xmlrpc-call failed: ${stderr}`);
    return JSON.parse(stdout) as {
      result?: unknown;
      fault?: { code: number; string: string };
      seconds: number;
    };
  }

  waitExit(timeoutMs = 20000): Promise<number | null> {
    return within(this.exited ?? Promise.resolve(null), timeoutMs, () => {
      throw new Error(`supervisord did not exit:\n${this.output}`);
    });
  }

  /** Stops supervisord and every program; kills what is left after 15 s. */
  async stop() {
    if (this.child && this.exitCode === null) {
      const children = childrenOf(this.pid);
      killQuietly(this.pid, "SIGTERM");
      await within(this.exited ?? Promise.resolve(null), 15000, () => null);
      if (this.exitCode === null) {
        for (const pid of [...children, ...childrenOf(this.pid)]) killQuietly(-pid, "SIGKILL");
        killQuietly(-this.pid, "SIGKILL");
        await this.exited;
      }
    }
    await rm(this.dir, { recursive: true, force: true });
  }
}

async function kresdProgram(
  dir: string,
  name: string,
  port: number,
  wrapped = false,
): Promise<ProgramOptions> {
  const rundir = path.join(dir, name);
  await mkdir(rundir);
  const lua = path.join(rundir, "config.lua");
  await writeFile(lua, `net.listen('127.0.0.1', ${port}, { kind = 'dns' })\n${OFFLINE_LUA}`);
  const kresd = `${KRESD} -n -c ${lua} ${rundir}`;
  return {
    // a shell that does not exec keeps kresd as its child: READY=1 then comes from a descendant
    command: wrapped ? `/bin/sh -c "${kresd}; exit 1"` : kresd,
    notify: true,
    startsecs: 30,
    startretries: 0,
    stopasgroup: true,
    killasgroup: true,
  };
}

const notifyReady = (...args: string[]) =>
  [PYTHON, path.join(FIXTURES, "notify-ready.py"), ...args].join(" ");

describe("sd_notify", () => {
  let sv: Supervisord;

  beforeAll(async () => {
    sv = await Supervisord.create("notify", async (dir) => ({
      kresd: await kresdProgram(dir, "kresd", 26101),
      wrapped: await kresdProgram(dir, "wrapped", 26102, true),
      late: { command: notifyReady("--delay", "2"), notify: true, startsecs: 30 },
      never: { command: "sleep 1000", notify: true, startsecs: 1, startretries: 1 },
      rpcready: { command: notifyReady("--never"), notify: true, startsecs: 30 },
      plain: { command: notifyReady(), startsecs: 1 },
    }));
    await sv.start();
  });
  afterAll(() => sv.stop());

  it("moves a real kresd 5.6 to RUNNING on its READY=1, long before startsecs", async () => {
    await sv.waitState("kresd", "RUNNING", 10000);
    expect(sv.output).toMatch(
      /success: kresd entered RUNNING state, process sent READY=1 [\d.]+ s after spawn/,
    );
    // uptime counts from the spawn, not from startsecs (supervisord's clock-rollback logic is tamed)
    const { stdout } = await sv.ctl("status", "kresd");
    expect(stdout).toMatch(/uptime 0:00:0\d/);
  });

  it("keeps a notify program STARTING until it sends READY=1", async () => {
    expect(await sv.state("late")).toBe("STARTING");
    await sv.waitState("late", "RUNNING", 10000);
    expect(sv.output).toMatch(
      /success: late entered RUNNING state, process sent READY=1 (2|3)\.\d+ s after spawn/,
    );
    // it was given supervisord's socket
    const pid = await sv.pidOf("late");
    expect(sv.output).toContain(`late[${pid}]: NOTIFY_SOCKET=@kres-supervisord-notify-${sv.pid}-`);
  });

  it("accepts READY=1 from a descendant of the supervised process (a wrapper that does not exec)", async () => {
    await sv.waitState("wrapped", "RUNNING", 10000);
    expect(sv.output).toMatch(
      /success: wrapped entered RUNNING state, process sent READY=1 \(sent by its descendant PID \d+\)/,
    );
  });

  it("kills a notify program without READY=1 after startsecs, retries startretries times, then FATAL", async () => {
    await sv.waitState("never", "FATAL", 15000);
    const spawned = sv.output.match(/spawned: 'never' with pid (\d+)/g) ?? [];
    expect(spawned).toHaveLength(2); // first start + startretries=1
    expect(sv.output).toMatch(
      /process 'never' \(\d+\) sent no READY=1 within 1 seconds \(startsecs\), killing with SIGKILL/,
    );
    const { stdout } = await sv.ctl("status", "never");
    expect(stdout).toContain("no READY=1 within 1 seconds (startsecs)");
    for (const line of spawned) expect(alive(Number(line.split(" ").pop()))).toBe(false);
  });

  it("does not give NOTIFY_SOCKET to programs not marked notify, and runs them as usual", async () => {
    await sv.waitState("plain", "RUNNING", 10000);
    const pid = await sv.pidOf("plain");
    expect(sv.output).toContain(`plain[${pid}]: NOTIFY_SOCKET=unset`);
  });

  it("takes READY=1 over XML-RPC (sd_notify.notify) for programs that cannot send datagrams", async () => {
    await sleep(1200);
    expect(await sv.state("rpcready")).toBe("STARTING");
    const pid = await sv.pidOf("rpcready");
    expect((await sv.rpc("sd_notify.notify", pid, "READY=1")).result).toBe(true);
    expect(await sv.state("rpcready")).toBe("RUNNING");
    // an unknown PID is refused
    expect((await sv.rpc("sd_notify.notify", 1, "READY=1")).fault?.code).toBe(3);
    expect((await sv.rpc("sd_notify.getSocket")).result).toMatch(/^@kres-supervisord-notify-/);
  });
});

describe("fast_rpcinterface", () => {
  let sv: Supervisord;

  beforeAll(async () => {
    sv = await Supervisord.create("fast", async (dir) => ({
      kresd: { ...(await kresdProgram(dir, "kresd", 26111)), autostart: false },
      never: { command: "sleep 1000", notify: true, startsecs: 1, startretries: 0, autostart: false },
      plain: { command: "sleep 1000", startsecs: 2, autostart: false },
    }));
    await sv.start();
  });
  afterAll(() => sv.stop());

  it("fast.startProcess returns as soon as a notify program sent READY=1, not after startsecs", async () => {
    const answer = await sv.rpc("fast.startProcess", "kresd");
    expect(answer.result).toBe(true);
    expect(answer.seconds).toBeLessThan(3); // startsecs is 30
    expect(await sv.state("kresd")).toBe("RUNNING");
  });

  it("answers a fault when the program is killed for not being ready", async () => {
    const answer = await sv.rpc("fast.startProcess", "never");
    expect(answer.fault?.string).toMatch(/SPAWN_ERROR: never: no READY=1 within 1 seconds/);
    expect(answer.seconds).toBeGreaterThan(0.9);
    expect(answer.seconds).toBeLessThan(5);
  });

  it("waits startsecs for a program not marked notify, like the stock call", async () => {
    const answer = await sv.rpc("fast.startProcess", "plain");
    expect(answer.result).toBe(true);
    expect(answer.seconds).toBeGreaterThan(1.9);
    expect(answer.seconds).toBeLessThan(4);
  });

  it("refuses unknown names, groups and running processes with the stock fault codes", async () => {
    expect((await sv.rpc("fast.startProcess", "nope")).fault?.code).toBe(10); // BAD_NAME
    expect((await sv.rpc("fast.startProcess", "kresd:*")).fault?.code).toBe(10);
    expect((await sv.rpc("fast.startProcess", "kresd")).fault?.code).toBe(60); // ALREADY_STARTED
  });
});

describe("patch_logger", () => {
  const talker = {
    command: `/bin/sh -c 'echo out-line; echo err-line >&2; printf "first half"; sleep 0.3; echo " second half"; echo "<3>with priority"; printf "no newline at exit"'`,
    startsecs: 0,
    autorestart: false,
  };

  it("forwards stdout and stderr line by line to supervisord's log, prefixed name[pid]", async () => {
    const sv = await Supervisord.create("logger", { talker }, { logTarget: "stdout" });
    try {
      await sv.start();
      await sv.waitState("talker", "EXITED");
      // supervisord's own messages go to the target too
      const pid = Number(/ INFO spawned: 'talker' with pid (\d+)/.exec(sv.stdout)?.[1]);
      const lines = sv.stdout.split("\n");
      const forwarded = (text: string) =>
        lines.filter((l) => new RegExp(`^\\S+ \\S+ talker\\[${pid}\\]: ${text}$`).test(l));
      expect(forwarded("out-line")).toHaveLength(1);
      expect(forwarded("err-line")).toHaveLength(1);
      // a line written in two pieces stays one line
      expect(forwarded("first half second half")).toHaveLength(1);
      // a leading syslog priority is stripped
      expect(forwarded("with priority")).toHaveLength(1);
      // the last line without a newline is flushed when the pipe closes
      expect(forwarded("no newline at exit")).toHaveLength(1);
    } finally {
      await sv.stop();
    }
  });

  it("can send everything to supervisord's stderr instead", async () => {
    const sv = await Supervisord.create("logger-stderr", { talker }, { logTarget: "stderr" });
    try {
      await sv.start();
      await sv.waitState("talker", "EXITED");
      const pid = Number(/ INFO spawned: 'talker' with pid (\d+)/.exec(sv.output)?.[1]);
      expect(sv.output).toContain(`talker[${pid}]: out-line\n`);
      expect(sv.stdout).toBe("");
    } finally {
      await sv.stop();
    }
  });

  it("uses supervisord's own handlers without a target (-n: stdout)", async () => {
    const sv = await Supervisord.create("logger-native", { talker });
    try {
      await sv.start();
      await sv.waitState("talker", "EXITED");
      const pid = Number(/ INFO spawned: 'talker' with pid (\d+)/.exec(sv.stdout)?.[1]);
      expect(sv.stdout).toContain(`talker[${pid}]: first half second half\n`);
    } finally {
      await sv.stop();
    }
  });
});

describe("manager_integration", () => {
  it("shuts supervisord down with exit status 1 when the manager goes FATAL", async () => {
    const sv = await Supervisord.create("fatal", {
      manager: { command: "/bin/sh -c 'exit 3'", startsecs: 1, startretries: 0 },
      other: { command: "sleep 1000", startsecs: 0 },
    });
    try {
      await sv.start();
      expect(await sv.waitExit()).toBe(1);
      expect(sv.output).toContain("manager entered FATAL state, shutting supervisord down (exit status 1)");
      const otherPid = Number(/spawned: 'other' with pid (\d+)/.exec(sv.output)?.[1]);
      expect(otherPid).toBeGreaterThan(0);
      expect(alive(otherPid)).toBe(false);
    } finally {
      await sv.stop();
    }
  });

  it("forwards SIGHUP to the manager instead of restarting supervisord", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kres-sv-hup-out-"));
    const record = path.join(dir, "hups");
    const sv = await Supervisord.create("hup", {
      manager: {
        command: `/bin/bash ${path.join(FIXTURES, "hup-manager.sh")} ${record}`,
        startsecs: 0,
        stopasgroup: true,
        killasgroup: true,
      },
    });
    try {
      await sv.start();
      const pid = await waitFor("the manager's trap", async () => {
        const text = existsSync(record) ? await readFile(record, "utf8") : "";
        return /ready (\d+)/.exec(text)?.[1];
      });
      process.kill(sv.pid, "SIGHUP");
      await waitFor("SIGHUP at the manager", async () =>
        (await readFile(record, "utf8")).includes(`hup ${pid}`),
      );
      process.kill(sv.pid, "SIGHUP");
      await waitFor(
        "a second SIGHUP",
        async () => (await readFile(record, "utf8")).split(`hup ${pid}`).length === 3,
      );
      expect(sv.output).toContain(`received SIGHUP, forwarded it to manager (pid ${pid})`);
      expect(sv.output).not.toContain("restart request");
      expect(sv.exitCode).toBeNull();
      expect(await sv.pidOf("manager")).toBe(Number(pid));
    } finally {
      await sv.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("sends READY=1 to systemd's NOTIFY_SOCKET once the manager is RUNNING, and keeps that socket from the programs", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kres-sv-systemd-"));
    const systemdSocket = path.join(dir, "notify");
    const received = path.join(dir, "received");
    const listener = spawn(PYTHON, [path.join(FIXTURES, "notify-listener.py"), systemdSocket, received], {
      stdio: "ignore",
    });
    const sv = await Supervisord.create(
      "systemd",
      {
        // READY=1 well after the check below: the manager is spawned as supervisord starts running
        manager: { command: notifyReady("--delay", "3"), notify: true, startsecs: 30 },
        plain: { command: notifyReady(), startsecs: 0 },
      },
      { env: { NOTIFY_SOCKET: systemdSocket } },
    );
    const messages = async (): Promise<string[]> =>
      existsSync(received)
        ? (await readFile(received, "utf8"))
            .split("\n")
            .filter(Boolean)
            .map((l) => JSON.parse(l) as string)
        : [];
    try {
      await waitFor("the fake systemd socket", () => existsSync(systemdSocket));
      await sv.start();
      await sleep(500);
      expect(await sv.state("manager")).toBe("STARTING");
      expect((await messages()).some((m) => m.includes("READY=1"))).toBe(false);
      await sv.waitState("manager", "RUNNING");
      const ready = await waitFor("READY=1 at systemd", async () =>
        (await messages()).find((m) => m.includes("READY=1")),
      );
      expect(ready).toContain("STATUS=manager is running");
      // neither the notify program nor the others see systemd's socket
      const managerPid = await sv.pidOf("manager");
      const plainPid = await sv.pidOf("plain");
      expect(sv.output).toContain(`manager[${managerPid}]: NOTIFY_SOCKET=@kres-supervisord-notify-`);
      expect(sv.output).toContain(`plain[${plainPid}]: NOTIFY_SOCKET=unset`);
      await sv.stop();
      await waitFor("STOPPING=1 at systemd", async () => (await messages()).includes("STOPPING=1"));
    } finally {
      await sv.stop();
      listener.kill("SIGTERM");
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("python unit tests of the plugins", () => {
  it("pass under Debian's /usr/bin/python3", async () => {
    const { code, stdout, stderr } = await run(PYTHON, [
      "-m",
      "unittest",
      "discover",
      path.join(PLUGINS, "tests"),
    ]);
    if (code !== 0) throw new Error(`python -m unittest failed:\n${stdout}\n${stderr}`);
    expect(stderr).toMatch(/\nOK/);
  });
});
