/**
 * Starts real kresd 5.6 processes on Lua rendered from configs that use the logging and
 * monitoring sections, and checks what kresd does with it: it starts clean, answers DNS,
 * logs at the configured level to the configured target, serves `stats` on its control
 * socket, and feeds dnstap and Graphite. Ports 24510-24514 (in this section's range, 24500-24999).
 * Every kresd gets the harness's offline guard after its config (harness/offline.ts).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as dgram from "node:dgram";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigValidationError } from "../../lib/datamodel/errors.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { statisticsQuery } from "../../lib/datamodel/sections/monitoring/render.js";
import type { KresConfig } from "../../lib/datamodel/config.js";
import { controlCall, luaStringAnswerText } from "../../harness/control.js";
import { OFFLINE_LUA } from "../../harness/offline.js";

const KRESD = "/usr/sbin/kresd";
const haveKresd = fs.existsSync(KRESD) && spawnSync("kdig", ["-V"]).status === 0;
const describeKresd = haveKresd ? describe : describe.skip;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  ms = 10000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

interface Kresd {
  proc: ChildProcess;
  rundir: string;
  out: () => string;
  err: () => string;
}

const started: ChildProcess[] = [];
const cleanups: (() => void)[] = [];

afterEach(async () => {
  for (const proc of started.splice(0)) {
    if (proc.exitCode !== null || proc.signalCode !== null) continue;
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
    await exited;
    clearTimeout(timer);
  }
  for (const c of cleanups.splice(0)) c();
});

/**
 * Validates `sections` with this test's port and cache in the network and cache sections when
 * those sections accept them (other helpers own them; until then kresd gets its own listen).
 */
function configFor(
  rundir: string,
  port: number,
  sections: Record<string, unknown>,
): { cfg: KresConfig; lua: string } {
  const cacheDir = path.join(rundir, "cache");
  fs.mkdirSync(cacheDir, { recursive: true });
  const optional: Record<string, unknown> = {
    network: { listen: [{ interface: `127.0.0.1@${port}` }] },
    cache: { storage: cacheDir },
  };
  for (;;) {
    try {
      const cfg = validateConfig({ rundir, ...sections, ...optional }, { strict: true });
      let lua = renderWorkerLua(cfg);
      if (!("network" in optional)) lua += `net.listen('127.0.0.1', ${port}, {kind='dns'})\n`;
      return { cfg, lua };
    } catch (e) {
      if (!(e instanceof ConfigValidationError)) throw e;
      const dropped = Object.keys(optional).filter((k) =>
        e.problems.some((p) => p.pointer.startsWith(`/${k}`)),
      );
      if (dropped.length === 0) throw e;
      for (const k of dropped) delete optional[k];
    }
  }
}

function startKresd(rundir: string, lua: string): Kresd {
  const file = path.join(rundir, "kresd.lua");
  fs.writeFileSync(file, `${lua}\n${OFFLINE_LUA}`);
  const proc = spawn(KRESD, ["-n", "-c", file, rundir], { cwd: rundir, stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  let out = "";
  let err = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
  return { proc, rundir, out: () => out, err: () => err };
}

function tmpRundir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kres-logmon-"));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * `kdig @127.0.0.1 -p port name A`; the status, id and text of the answer, if one came.
 * Asynchronous, so that servers in this process (dnstap, graphite) keep running meanwhile.
 */
function kdig(
  port: number,
  name: string,
): Promise<{ status: string; id: number; answer: string } | undefined> {
  const args = ["@127.0.0.1", "-p", String(port), name, "A", "+timeout=1", "+retry=0"];
  return new Promise((resolve) => {
    execFile("kdig", args, { encoding: "utf8", timeout: 5000 }, (_err, stdout) => {
      const m = /status: (\w+); id: (\d+)/.exec(stdout);
      resolve(m ? { status: m[1] as string, id: Number(m[2]), answer: stdout } : undefined);
    });
  });
}

/**
 * Sends Lua lines to kresd's control socket (RUNDIR/control/<pid>); one text answer each. One
 * line at a time: collect_statistics() may load the stats module, after which kresd 5.6 would drop
 * the rest of a pipelined batch.
 */
async function control(k: Kresd, lines: string[]): Promise<string[]> {
  const sockPath = path.join(k.rundir, "control", String(k.proc.pid));
  await until("the control socket", () => fs.existsSync(sockPath));
  return controlCall(sockPath, lines, { timeoutMs: 10000, pipelined: false });
}

function expectCleanStart(k: Kresd): void {
  expect(k.proc.exitCode).toBeNull();
  const logs = k.err() + k.out();
  expect(logs).not.toMatch(/error while loading config|ERROR:|stack traceback/);
}

/** Queries localhost A, expects 127.0.0.1; returns the request's uid as kresd logs it. */
async function expectAnswersLocalhost(port: number): Promise<string> {
  const r = await until("an answer from kresd", () => kdig(port, "localhost"));
  expect(r.status).toBe("NOERROR");
  expect(r.answer).toMatch(/localhost\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/);
  return `${String(r.id).padStart(5, "0")}.00`;
}

describeKresd("logging and monitoring Lua in kresd 5.6", () => {
  it("level debug to stderr with groups and stats always: logs everything, stats answer", async () => {
    const rundir = tmpRundir();
    const port = 24510;
    const { cfg, lua } = configFor(rundir, port, {
      logging: { level: "debug", target: "stderr", groups: ["manager", "io", "plan"] },
      monitoring: { metrics: "always" },
    });
    const k = startKresd(rundir, lua);
    const id = await expectAnswersLocalhost(port);
    expectCleanStart(k);

    // Debug-level lines of our query, also from groups not listed (the level is debug).
    await until("debug lines of the query", () => k.err().includes(`[resolv][${id}]`));
    expect(k.err()).toContain(`plan 'localhost.' type 'A' uid [${id}]`);
    expect(k.out()).toBe("");

    const [total, level, target, groups, json] = await control(k, [
      "stats.get('answer.total')",
      "log_level()",
      "log_target()",
      "table.concat(log_groups(), ',')",
      statisticsQuery(cfg) as string,
    ]);
    expect(Number(total)).toBeGreaterThanOrEqual(1);
    expect([level, target, groups].map(luaStringAnswerText)).toEqual(["debug", "stderr", "io,plan"]);
    const stats = JSON.parse(luaStringAnswerText(json)) as Record<string, number>;
    expect(stats["answer.total"]).toBeGreaterThanOrEqual(1);
    expect(stats["answer.noerror"]).toBeGreaterThanOrEqual(1);
  });

  it("level notice to stdout with group plan and lazy stats: only the group's debug lines, stats on demand", async () => {
    const rundir = tmpRundir();
    const port = 24511;
    const { cfg, lua } = configFor(rundir, port, {
      logging: { level: "notice", target: "stdout", groups: ["plan"] },
      monitoring: { metrics: "lazy" },
    });
    const k = startKresd(rundir, lua);
    const id = await expectAnswersLocalhost(port);
    expectCleanStart(k);

    await until("the plan line on stdout", () => k.out().includes(`plan 'localhost.' type 'A' uid [${id}]`));
    // Give kresd time to log the rest of the request, then check nothing else was logged.
    await sleep(300);
    expect(k.out() + k.err()).not.toContain(`[resolv][${id}]`);
    expect(k.err()).not.toContain("[plan");

    const [before, json, after, level] = await control(k, [
      "stats == nil",
      statisticsQuery(cfg) as string,
      "stats ~= nil",
      "log_level()",
    ]);
    expect(before).toBe("true");
    // Lazy: counting starts when the manager first asks, so the earlier query is not counted.
    expect(JSON.parse(luaStringAnswerText(json))).toMatchObject({ "answer.total": 0 });
    expect(after).toBe("true");
    expect(luaStringAnswerText(level)).toBe("notice");
    await expectAnswersLocalhost(port);
    const [again] = await control(k, [statisticsQuery(cfg) as string]);
    expect(
      (JSON.parse(luaStringAnswerText(again)) as Record<string, number>)["answer.total"],
    ).toBeGreaterThanOrEqual(1);
  });

  it("manager-only keeps stats out of the worker; graphite and dnstap without enable stay off, as upstream", async () => {
    const rundir = tmpRundir();
    const port = 24512;
    const { lua } = configFor(rundir, port, {
      monitoring: { metrics: "manager-only", graphite: { host: "127.0.0.1", port: 24517 } },
      logging: { dnstap: { "unix-socket": path.join(rundir, "dnstap.sock"), "log-queries": true } },
    });
    const k = startKresd(rundir, lua);
    await expectAnswersLocalhost(port);
    expectCleanStart(k);
    expect(
      await control(k, ["stats == nil", "collect_statistics == nil", "graphite == nil", "dnstap == nil"]),
    ).toEqual(["true", "true", "true", "true"]);
  });

  it("dnssec.log-bogus, dnstap and graphite: modules load and deliver", async () => {
    const rundir = tmpRundir();
    const port = 24513;
    const graphitePort = 24514;
    const tapSock = path.join(rundir, "dnstap.sock");

    // A Frame Streams reader: kresd's dnstap blocks until its handshake is accepted.
    const frames: Buffer[] = [];
    const tap = net.createServer((c) => {
      let buf = Buffer.alloc(0);
      c.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        for (;;) {
          if (buf.length < 4) return;
          const len = buf.readUInt32BE(0);
          if (len !== 0) {
            if (buf.length < 4 + len) return;
            frames.push(buf.subarray(4, 4 + len));
            buf = buf.subarray(4 + len);
            continue;
          }
          if (buf.length < 8) return;
          const clen = buf.readUInt32BE(4);
          if (buf.length < 8 + clen) return;
          const control = buf.subarray(8, 8 + clen);
          buf = buf.subarray(8 + clen);
          if (control.readUInt32BE(0) === 0x04) {
            // READY → ACCEPT, echoing its content-type fields.
            const fields = control.subarray(4);
            const reply = Buffer.alloc(12);
            reply.writeUInt32BE(0, 0);
            reply.writeUInt32BE(4 + fields.length, 4);
            reply.writeUInt32BE(0x01, 8);
            c.write(Buffer.concat([reply, fields]));
          }
        }
      });
    });
    await new Promise<void>((r) => tap.listen(tapSock, r));
    cleanups.push(() => tap.close());

    const datagrams: string[] = [];
    const graphite = dgram.createSocket("udp4");
    graphite.on("message", (m) => datagrams.push(m.toString()));
    await new Promise<void>((r) => graphite.bind(graphitePort, "127.0.0.1", r));
    cleanups.push(() => graphite.close());

    const { lua } = configFor(rundir, port, {
      dnssec: { "log-bogus": true },
      logging: {
        dnstap: { enable: true, "unix-socket": tapSock, "log-queries": true, "log-responses": true },
      },
      monitoring: {
        metrics: "manager-only",
        graphite: { enable: true, host: "127.0.0.1", port: graphitePort, prefix: "test", interval: "1s" },
      },
    });
    const k = startKresd(rundir, lua);
    await expectAnswersLocalhost(port);
    expectCleanStart(k);

    const [modules] = await control(k, ["table.concat(modules.list(), ',')"]);
    expect(luaStringAnswerText(modules).split(",")).toEqual(
      expect.arrayContaining(["bogus_log", "dnstap", "graphite", "stats"]),
    );

    // dnstap: the query and the answer reach the socket in wire format.
    const wireName = Buffer.from("\x09localhost\x00", "latin1");
    await until("dnstap frames with our query", () => frames.some((f) => f.includes(wireName)));

    // graphite: metrics arrive under '<prefix>.<worker id>'.
    const line = await until("graphite metrics", () =>
      datagrams
        .join("")
        .split("\n")
        .find((l) => l.startsWith(`test.${k.proc.pid}.`)),
    );
    expect(line).toMatch(/^test\.\d+\.\S+ \S+ \d+$/);
  });

  it("a hostile graphite prefix reaches kresd as the same bytes", async () => {
    const rundir = tmpRundir();
    const port = 24515;
    const prefix = `a"b'c\\d[[e]]\n--f); os.exit(1) -- é`;
    const { lua } = configFor(rundir, port, {
      monitoring: { graphite: { enable: true, host: "127.0.0.1", port: 24516, prefix } },
    });
    const k = startKresd(rundir, lua);
    await expectAnswersLocalhost(port);
    expectCleanStart(k);
    const [got] = await control(k, ["graphite.prefix"]);
    expect(luaStringAnswerText(got)).toBe(`${prefix}.${k.proc.pid}`);
  });
});
