/**
 * A crash of supervisord itself (kill -9) does not block the next start (issue 24): the processes it
 * left running on the rundir are found and stopped, the workers only just before the new ones take
 * their sockets; what belongs to another rundir, or was never ours, is left alone. Real
 * supervisord, kresd 5.6, kres-cache-gc, dnsperf and kdig on loopback.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import { kdigAt, waitFor } from "../../harness/index.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { LOAD_LOCAL_DATA, LOAD_NAMES } from "../../harness/load.js";
import { GroupProcess, isRunning, sleep } from "../../harness/procs.js";
import { Resolvers, type ProcessRow, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

/** Seconds of dnsperf load in the first test: the restart is over well within it, even on a busy machine. */
const LOAD_S = 20;

const resolvers = new Resolvers();
const resolver = (workers = 2) => resolvers.start({ config: { workers, "local-data": LOAD_LOCAL_DATA } });
async function again(r: Resolver): Promise<Resolver> {
  const next = resolvers.keep(await r.again({ waitReady: false }));
  await next.waitReady(60_000);
  return next;
}
afterAll(() => resolvers.stopAll());

/** name → PID of every program supervisord runs (manager, kresd:kresdN, cache-gc). */
async function pids(r: Resolver): Promise<Map<string, number>> {
  const rows: [string, ProcessRow][] = [...(await r.status())];
  return new Map(rows.map(([name, row]) => [name, row.pid as number]));
}

/** SIGKILL to supervisord (the main PID), waited for. */
async function killSupervisord(r: Resolver): Promise<void> {
  process.kill(r.pid, "SIGKILL");
  await r.proc.exited;
}

async function gone(pid: number): Promise<void> {
  await waitFor(`pid ${pid} gone`, () => (isRunning(pid) ? undefined : true), { timeoutMs: 10_000 });
}

/** The new resolver runs its own workers (none of `old`), and they answer. */
async function expectFreshAndAnswering(r: Resolver, old: Map<string, number>): Promise<void> {
  const now = await pids(r);
  expect([...now.keys()].sort()).toEqual(["cache-gc", "kresd:kresd0", "kresd:kresd1", "manager"]);
  for (const [name, pid] of old) {
    expect([name, now.get(name) === pid]).toEqual([name, false]);
    expect([name, pid, isRunning(pid)]).toEqual([name, pid, false]);
  }
  const answer = await kdigAt(r.port, LOAD_NAMES[0] as string, "A");
  expect(answer.answers.map((a) => a.data)).toEqual(["192.0.2.1"]);
}

/** The log line naming what was found, for these names/PIDs. */
function expectNamed(log: string, old: Map<string, number>, names: readonly string[]): void {
  for (const name of names) expect(log).toContain(`${name} (pid ${old.get(name)})`);
}

it("after kill -9 of supervisord under 1000 q/s, knot-resolver -c starts again in the orphans' place and counts what the gap lost", async () => {
  const r = await resolver();
  const old = await pids(r);
  // Up to 4 s of queries outstanding (dnsperf sends none past its -q), so the gap is fully counted.
  const load = startDnsperf({
    port: r.port,
    names: LOAD_NAMES,
    qps: 1000,
    seconds: LOAD_S,
    timeoutSeconds: 1,
    maxOutstanding: 4000,
  });
  const loadStart = Date.now();
  try {
    await sleep(1500);
    await killSupervisord(r);
    // Left running without their supervisord, the workers keep answering.
    await sleep(500);
    expect(isRunning(old.get("kresd:kresd0") as number)).toBe(true);
    expect((await kdigAt(r.port, LOAD_NAMES[1] as string, "A")).answers[0]?.data).toBe("192.0.2.2");

    const r2 = await again(r);
    const readyAtS = (Date.now() - loadStart) / 1000;
    await expectFreshAndAnswering(r2, old);
    // The workers' line names them; the outcome says how they went.
    expectNamed(r2.log, old, ["kresd:kresd0", "kresd:kresd1"]);
    expect(r2.log).toMatch(
      /orphans of an earlier run: kresd:kresd0 \(pid \d+\), kresd:kresd1 \(pid \d+\) stopped by SIGTERM/,
    );
    const result = await load.done;
    // Printed, not asserted: a figure of timing (bench/orphans.ts measures it).
    const within =
      readyAtS < LOAD_S ? "" : " (the load ended before the new workers ran: the gap is not all in it)";
    console.log(
      `kill -9 of supervisord at 1000 q/s, restart on the orphans (ready ${readyAtS.toFixed(1)} s into the load): ` +
        `${result.lost} lost of ${result.sent} sent (${result.completed} answered)${within}`,
    );
    expect(result.completed + result.lost).toBe(result.sent);
    expect(result.completed).toBeGreaterThan(0);
  } finally {
    load.kill();
  }
});

it("starts cleanly after kill -9 of both supervisord and the manager", async () => {
  const r = await resolver();
  const old = await pids(r);
  await killSupervisord(r);
  process.kill(old.get("manager") as number, "SIGKILL");
  await gone(old.get("manager") as number);
  const r2 = await again(r);
  await expectFreshAndAnswering(r2, old);
  expectNamed(r2.log, old, ["cache-gc", "kresd:kresd0", "kresd:kresd1"]);
  expect(r2.log).toMatch(/orphans of an earlier run: cache-gc \(pid \d+\) stopped by SIGTERM/);
});

it("an orphaned manager that does not leave by itself is stopped before supervisord starts, SIGKILL after the bound", async () => {
  const r = await resolver();
  const old = await pids(r);
  const manager = old.get("manager") as number;
  // Stopped, it can neither exit by itself nor act on SIGTERM. When supervisord dies, the kernel
  // sends the manager's process group (orphaned now, with a stopped member) SIGHUP and SIGCONT:
  // stopped again at once, before it can handle them.
  process.kill(manager, "SIGSTOP");
  await killSupervisord(r);
  process.kill(manager, "SIGSTOP");
  expect(isRunning(manager)).toBe(true);
  const r2 = await again(r);
  await expectFreshAndAnswering(r2, old);
  expect(r2.log).toContain(`manager (pid ${manager}) killed (SIGKILL after 5000 ms)`);
});

it("with only the orphaned workers left (supervisord, manager and cache-gc killed), starts cleanly and leaves another rundir's orphans alone", async () => {
  const r = await resolver();
  const neighbour = await resolver();
  const old = await pids(r);
  const theirs = await pids(neighbour);
  for (const x of [r, neighbour]) await killSupervisord(x);
  for (const name of ["manager", "cache-gc"]) {
    process.kill(old.get(name) as number, "SIGKILL");
    await gone(old.get(name) as number);
  }
  const r2 = await again(r);
  await expectFreshAndAnswering(r2, old);
  expect(r2.log).toMatch(
    /still running without their supervisord.*: kresd:kresd0 \(pid \d+\), kresd:kresd1 \(pid \d+\)$/m,
  );
  // The neighbour's orphans are another rundir's: still running and answering on their own port.
  for (const name of ["kresd:kresd0", "kresd:kresd1", "cache-gc"])
    expect([name, isRunning(theirs.get(name) as number)]).toEqual([name, true]);
  expect((await kdigAt(neighbour.port, LOAD_NAMES[2] as string, "A")).answers[0]?.data).toBe("192.0.2.3");
  for (const pid of theirs.values()) expect(r2.log).not.toContain(`(pid ${pid})`);
});

it("after a reboot (no process left, stale pid file, sockets and control sockets) starts cleanly and touches no unrelated process", async () => {
  const r = await resolver();
  const old = await pids(r);
  await killSupervisord(r);
  for (const pid of old.values()) process.kill(pid, "SIGKILL");
  for (const pid of old.values()) await gone(pid);
  // After the reboot the pid file names a PID that now is somebody else's process, and so does a
  // control socket.
  const unrelated = new GroupProcess("/bin/sleep", ["600"]);
  const control = path.join(r.rundir, "control");
  fs.renameSync(
    path.join(control, String(old.get("kresd:kresd0"))),
    path.join(control, String(unrelated.pid)),
  );
  fs.writeFileSync(path.join(r.rundir, "supervisord.pid"), `${unrelated.pid}\n`);
  const stale = ["supervisord.sock", "notify.sock", "kres-api.sock", "supervisord.pid"];
  for (const f of stale) expect([f, fs.existsSync(path.join(r.rundir, f))]).toEqual([f, true]);
  expect(fs.readdirSync(control).sort()).toEqual(
    [String(unrelated.pid), String(old.get("kresd:kresd1"))].sort(),
  );

  const r2 = await again(r);
  await expectFreshAndAnswering(r2, old);
  expect(r2.log).not.toContain("without their supervisord");
  expect(isRunning(unrelated.pid)).toBe(true);
  const now = await pids(r2);
  expect(fs.readdirSync(control).sort()).toEqual(
    [String(now.get("kresd:kresd0")), String(now.get("kresd:kresd1"))].sort(),
  );
  await unrelated.stop();
});
