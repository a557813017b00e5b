/**
 * The start-up sequence and supervision, observed from outside a real bin/knot-resolver:
 * supervisord (Debian's), the manager, real kresd 5.6 workers and kres-cache-gc on loopback.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { kdigAt, run, tmpDir, waitFor, KNOT_RESOLVER } from "../../harness/index.js";
import { apiCall, apiRequest } from "../../harness/api.js";
import { isRunning } from "../../harness/procs.js";
import { Resolvers, type Resolver, type ResolverOptions } from "../../harness/resolver.js";

jest.setTimeout(120_000);

const resolvers = new Resolvers();
const resolver = (opts?: ResolverOptions) => resolvers.start(opts);
afterAll(() => resolvers.stopAll());

function cmdline(pid: number): string {
  return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
}

const alive = isRunning;

describe("start-up", () => {
  let r: Resolver;
  beforeAll(async () => {
    r = await resolver({ config: { workers: 2 } });
  });

  it("replaces itself with supervisord, keeping its PID", () => {
    expect(cmdline(r.pid)).toMatch(/supervisord -n -c \S+\/supervisord\.conf/);
  });

  it("runs the manager, the requested kresd workers and cache-gc under supervisord", async () => {
    const status = await r.status();
    expect([...status.keys()].sort()).toEqual(["cache-gc", "kresd:kresd0", "kresd:kresd1", "manager"]);
    for (const [name, row] of status) {
      expect([name, row.state]).toEqual([name, "RUNNING"]);
      expect(cmdline(row.pid as number)).toContain(
        name === "manager"
          ? "dist/bundle/manager.js"
          : name === "cache-gc"
            ? "kres-cache-gc"
            : "/usr/sbin/kresd",
      );
    }
  });

  it("lists only the kresd slots in use: supervisord's spare slots (canary included) never started are not shown", async () => {
    const all = await r.supervisorctl("status");
    expect(all.match(/^kresd:kresd\d+ /gm)).toEqual(["kresd:kresd0 ", "kresd:kresd1 "]);
    expect(fs.readFileSync(r.supervisordConf, "utf8")).toMatch(/^numprocs = 257$/m);
  });

  it("answers DNS on the configured port", async () => {
    const res = await kdigAt(r.port, "localhost", "A");
    expect(res.answers.map((a) => a.data)).toEqual(["127.0.0.1"]);
  });

  it("forwards kresd's own output prefixed with name[pid]", async () => {
    const pid = await r.pidOf("kresd:kresd0");
    expect(r.log).toMatch(new RegExp(`kresd0\\[${pid}\\]: `));
    expect(r.log).toMatch(/manager\[\d+\]: notice: knot-resolver is ready/);
  });
});

describe("supervisorctl status after changes", () => {
  it("lists what exists: the configured workers, cache-gc and the manager, not the canary nor a retired worker", async () => {
    const r = await resolver({ config: { workers: 3 } });
    const before = await r.status();
    // a change of the workers' Lua (canary, every worker replaced), then one worker fewer
    for (const [ptr, value] of [
      ["/nsid", "after-a-change"],
      ["/workers", 2],
    ] as const) {
      const res = await apiCall(r.apiSocket, "PUT", `/v1/config${ptr}`, { body: value });
      expect([ptr, res.status]).toEqual([ptr, 200]);
    }
    const rows = (await r.supervisorctl("status"))
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l.split(/\s+/).slice(0, 2).join(" "));
    expect(rows).toEqual([
      "cache-gc RUNNING",
      "kresd:kresd0 RUNNING",
      "kresd:kresd1 RUNNING",
      "manager RUNNING",
    ]);
    // really replaced
    const after = await r.status();
    expect(after.get("kresd:kresd0")?.pid).not.toBe(before.get("kresd:kresd0")?.pid);
    expect(after.get("kresd:kresd1")?.pid).not.toBe(before.get("kresd:kresd1")?.pid);
  });
});

describe("adoption", () => {
  it("after kill -9 of the manager, a new manager adopts the same workers and no query is lost", async () => {
    const r = await resolver();
    const before = await r.status();
    const managerPid = before.get("manager")?.pid as number;
    let stop = false;
    let answered = 0;
    const failures: string[] = [];
    const load = (async () => {
      while (!stop) {
        try {
          const res = await kdigAt(r.port, "localhost", "A");
          if (res.rcode === "NOERROR" && res.answers[0]?.data === "127.0.0.1") answered++;
          else failures.push(res.rcode);
        } catch (e) {
          failures.push((e as Error).message);
        }
      }
    })();
    await new Promise((res) => setTimeout(res, 300));
    process.kill(managerPid, "SIGKILL");
    const newManager = await waitFor(
      "a new manager",
      async () => {
        const m = (await r.status()).get("manager");
        return m?.state === "RUNNING" && m.pid !== managerPid ? m.pid : undefined;
      },
      { timeoutMs: 20000, intervalMs: 100 },
    );
    await waitFor("adoption logged", () => (/adopted kresd:kresd1/.test(r.log) ? true : undefined));
    await new Promise((res) => setTimeout(res, 300));
    stop = true;
    await load;

    const after = await r.status();
    expect(newManager).not.toBe(managerPid);
    for (const name of ["kresd:kresd0", "kresd:kresd1", "cache-gc"]) {
      expect([name, after.get(name)?.pid]).toEqual([name, before.get(name)?.pid]);
    }
    expect(failures).toEqual([]);
    expect(answered).toBeGreaterThan(5);
    expect(r.log).toContain(`adopted kresd:kresd0 (pid ${before.get("kresd:kresd0")?.pid})`);
  });
});

describe("supervisord config reload", () => {
  it("a restarted manager rewrites supervisord.conf and makes supervisord reload it", async () => {
    const r = await resolver();
    const before = await r.status();
    expect(before.has("cache-gc")).toBe(true);
    const cfg = JSON.parse(fs.readFileSync(r.configFile, "utf8"));
    cfg.cache["garbage-collector"] = { enable: false };
    fs.writeFileSync(r.configFile, JSON.stringify(cfg));
    // Without a running config to resume (as after an upgrade from a manager that saved none), the
    // restarted manager reads the edited file.
    fs.rmSync(path.join(r.rundir, "running-config.json"));
    process.kill(before.get("manager")?.pid as number, "SIGKILL");
    await waitFor(
      "reload logged",
      () => (r.log.includes("supervisord configuration updated: removed cache-gc") ? true : undefined),
      {
        timeoutMs: 20000,
      },
    );
    const after = await waitFor("cache-gc gone", async () => {
      const st = await r.status();
      return st.get("manager")?.state === "RUNNING" && !st.has("cache-gc") ? st : undefined;
    });
    expect(fs.readFileSync(r.supervisordConf, "utf8")).not.toContain("[program:cache-gc]");
    expect(await r.supervisorctl("status", "cache-gc")).toMatch(/no such process/i);
    expect(after.get("kresd:kresd0")?.pid).toBe(before.get("kresd:kresd0")?.pid);
    expect(after.get("kresd:kresd1")?.pid).toBe(before.get("kresd:kresd1")?.pid);
  });
});

describe("watchdog", () => {
  it("a worker killed with -9 comes back with a new PID and the manager notices", async () => {
    const r = await resolver();
    const old = (await r.pidOf("kresd:kresd1")) as number;
    process.kill(old, "SIGKILL");
    const fresh = await waitFor(
      "kresd1 back",
      async () => {
        const row = (await r.status()).get("kresd:kresd1");
        return row?.state === "RUNNING" && row.pid !== old ? row.pid : undefined;
      },
      { timeoutMs: 15000, intervalMs: 100 },
    );
    expect(alive(fresh as number)).toBe(true);
    // Depending on when its poll lands, the watchdog sees the new PID or the short EXITED state.
    await waitFor("the watchdog's note", () =>
      r.log.includes(`kresd:kresd1 was killed by SIGKILL and restarted (pid ${old} → ${fresh})`) ||
      r.log.includes("watchdog: kresd:kresd1 is exited (killed by SIGKILL)")
        ? true
        : undefined,
    );
    expect((await kdigAt(r.port, "localhost", "A")).rcode).toBe("NOERROR");
  });

  it("gives up after too many worker failures in a short time: everything stops, exit 1, one line why", async () => {
    const r = await resolver();
    const notes = () => r.log.match(/watchdog: kresd:kresd0 (died|is exited)/g)?.length ?? 0;
    // A worker crashing by itself (SIGSEGV); a kill from outside (SIGKILL) would not count.
    for (let i = 0; i < 6 && r.proc.running; i++) {
      const pid = (await r.pidOf("kresd:kresd0")) as number;
      const noted = notes();
      process.kill(pid, "SIGSEGV");
      await waitFor(
        "kresd0 restarted",
        async () => {
          if (!r.proc.running) return true;
          const row = (await r.status()).get("kresd:kresd0");
          return row?.state === "RUNNING" && row.pid !== pid ? true : undefined;
        },
        { timeoutMs: 15000, intervalMs: 50 },
      );
      await waitFor("the watchdog's note", () => (!r.proc.running || notes() > noted ? true : undefined));
    }
    const status = await r.proc.exited;
    expect(status).toEqual({ code: 1, signal: null });
    const why = r.log.split("\n").filter((l) => l.includes("giving up:"));
    expect(why).toHaveLength(1);
    expect(why[0]).toMatch(
      /6 worker failures within 60 s \(limit 5\), last: kresd:kresd0 (died of signal \d+|is exited \(died of signal \d+\))/,
    );
    expect(r.leftovers()).toEqual([]);
  });

  it("a kresd that never sends READY is killed after startsecs, FATAL, and the resolver exits 1", async () => {
    const dir = path.dirname(await fs.promises.realpath(KNOT_RESOLVER));
    const wrapper = path.join(dir, "..", "test", "fixtures", "never-ready-kresd.sh");
    const r = await resolver({ env: { KRES_KRESD: wrapper }, waitReady: false });
    const status = await r.proc.exited;
    expect(status).toEqual({ code: 1, signal: null });
    expect(r.log).toMatch(/kresd0 .*FATAL|FATAL.*kresd0/);
    expect(r.log).toMatch(/no READY=1 within 10/i);
    expect(r.log).toMatch(/cannot start the workers/);
    expect(r.leftovers()).toEqual([]);
  });
});

describe("signals", () => {
  it.each(["SIGTERM", "SIGINT"] as const)(
    "%s to the main PID stops every process, cleans the rundir and exits 0",
    async (signal) => {
      const r = await resolver();
      const pids = [...(await r.status()).values()].map((row) => row.pid as number);
      expect(pids).toHaveLength(4);
      process.kill(r.pid, signal);
      expect(await r.proc.exited).toEqual({ code: 0, signal: null });
      for (const pid of pids) expect([pid, alive(pid)]).toEqual([pid, false]);
      expect(r.leftovers()).toEqual([]);
      const left = fs.readdirSync(r.rundir);
      expect(left).not.toContain("supervisord.sock");
      expect(left).not.toContain("supervisord.pid");
      expect(fs.readdirSync(path.join(r.rundir, "control"))).toEqual([]);
    },
  );

  it("SIGHUP reaches the manager, which reloads the unchanged files and keeps running", async () => {
    const r = await resolver();
    const before = await r.status();
    process.kill(r.pid, "SIGHUP");
    await waitFor("reload logged", () =>
      /SIGHUP: .* unchanged, nothing to do/.test(r.log) ? true : undefined,
    );
    const after = await r.status();
    expect(after.get("manager")?.pid).toBe(before.get("manager")?.pid);
    expect(after.get("kresd:kresd0")?.pid).toBe(before.get("kresd:kresd0")?.pid);
  });
});

describe("stale state and a second instance", () => {
  it("a pid file and socket left by a crashed run do not block the start", async () => {
    const r0 = await resolver({ waitReady: false });
    await r0.stop(); // only to get a prepared directory and config
    fs.writeFileSync(path.join(r0.rundir, "supervisord.pid"), "999999\n");
    const stale = net.createServer().listen(path.join(r0.rundir, "supervisord.sock"));
    await new Promise((res) => stale.once("listening", res));
    await new Promise((res) => stale.close(res)); // closed: the file stays, nobody listens
    fs.writeFileSync(path.join(r0.rundir, "supervisord.sock"), "");

    const r = await r0.again({ waitReady: false });
    resolvers.keep(r);
    await r.waitReady();
    expect((await kdigAt(r.port, "localhost", "A")).rcode).toBe("NOERROR");
  });

  it("a second knot-resolver on the same rundir refuses clearly and touches nothing", async () => {
    const r = await resolver();
    const conf = fs.statSync(r.supervisordConf).mtimeMs;
    const before = await r.status();
    const second = await run(KNOT_RESOLVER, ["-c", r.configFile]);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`another knot-resolver is already running on ${r.rundir}`);
    expect(second.stderr).toContain(`supervisord pid ${r.pid}`);
    expect(fs.statSync(r.supervisordConf).mtimeMs).toBe(conf);
    expect(await r.status()).toEqual(before);
  });
});

describe("readiness notifications", () => {
  it("reach supervisord on a file socket in the rundir that only its owner can use", async () => {
    const r = await resolver();
    const pid = await r.pidOf("kresd:kresd0");
    const env = fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0");
    const notify = path.join(r.rundir, "notify.sock");
    expect(env).toContain(`NOTIFY_SOCKET=${notify}`);
    const st = fs.lstatSync(notify);
    expect(st.isSocket()).toBe(true);
    expect(st.mode & 0o777).toBe(0o600);
  });
});

describe("the management socket path", () => {
  it("a file there that is not a socket survives start-up, which stops and says why", async () => {
    const dir = tmpDir("krm-socket-path-");
    const precious = path.join(dir, "data.mdb");
    fs.writeFileSync(precious, "the cache");
    const r = await resolver({ config: { management: { "unix-socket": precious } }, waitReady: false });
    expect(await r.proc.exited).toEqual({ code: 1, signal: null });
    expect(r.log).toContain(`${precious} exists and is a regular file, not a socket; refusing to replace it`);
    expect(fs.readFileSync(precious, "utf8")).toBe("the cache");
    expect(r.leftovers()).toEqual([]);
  });
});

describe("logging", () => {
  it("with target stderr, supervisord and every program log to stderr, one line per event", async () => {
    const r = await resolver({ config: { logging: { target: "stderr", level: "info" } } });
    expect(r.proc.stderr).toMatch(/manager\[\d+\]: notice: knot-resolver is ready/);
    expect(r.proc.stderr).toMatch(/kresd1\[\d+\]: /);
    expect(r.proc.stdout).toBe("");
  });

  it("no raw control character reaches the log from a request: they are written as escapes", async () => {
    const r = await resolver({ config: { logging: { level: "info" } } });
    const res = await apiRequest(r.apiSocket, "GET", "/v1/config/%0d%1b[2J%07forged%0aline");
    expect(res.status).toBe(404);
    await waitFor("the refusal in the log", () => (r.log.includes("forged") ? true : undefined), {
      timeoutMs: 10_000,
    });
    const line = r.log.split("\n").find((l) => l.includes("forged")) as string;
    expect(line).toContain("\\u000d\\u001b[2J\\u0007forged\\nline");
    // eslint-disable-next-line no-control-regex -- looking for raw control characters is the point
    expect(r.log).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it("logging.level filters the manager's lines", async () => {
    const r = await resolver({ config: { logging: { level: "notice" } } });
    expect(r.log).toMatch(/manager\[\d+\]: notice: knot-resolver is ready/);
    expect(r.log).not.toMatch(/manager\[\d+\]: info: /);
  });
});
