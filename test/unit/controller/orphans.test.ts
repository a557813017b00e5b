/**
 * Finding what a dead supervisord left on a rundir, read from a fake /proc tree (stat, cmdline,
 * environ per PID) so that no process is started or signalled. Stopping them is tested on real
 * processes in test/integration/orphans.test.ts.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import {
  describeOrphans,
  findOrphans,
  removeStaleControlSockets,
} from "../../../lib/controller/supervisord/orphans.js";
import { tmpDir } from "../../../harness/tmp.js";

let base: string;
let proc: string;
let rundir: string;

beforeEach(() => {
  base = tmpDir("krm-orphans-");
  proc = path.join(base, "proc");
  rundir = path.join(base, "run");
  fs.mkdirSync(proc);
  fs.mkdirSync(path.join(rundir, "control"), { recursive: true });
});

interface FakeProcess {
  argv: string[];
  env?: Record<string, string>;
  ppid?: number;
  state?: string;
  start?: string;
  comm?: string;
}

/** One /proc/PID entry: stat (state, ppid, start time in field 22), cmdline and environ. */
function fake(pid: number, p: FakeProcess): void {
  const dir = path.join(proc, String(pid));
  fs.mkdirSync(dir);
  const after = [p.state ?? "S", String(p.ppid ?? 1), ...Array(17).fill("0"), p.start ?? "1000", "0"];
  fs.writeFileSync(path.join(dir, "stat"), `${pid} (${p.comm ?? "x"}) ${after.join(" ")}\n`);
  fs.writeFileSync(path.join(dir, "cmdline"), p.argv.join("\0") + "\0");
  const env = Object.entries(p.env ?? {}).map(([k, v]) => `${k}=${v}\0`);
  fs.writeFileSync(path.join(dir, "environ"), env.join(""));
}

/** The environment supervisord gives a program of the rundir `dir`. */
function supervised(dir: string, group: string, name = group): Record<string, string> {
  return {
    PATH: "/usr/bin",
    SUPERVISOR_ENABLED: "1",
    SUPERVISOR_SERVER_URL: `unix://${dir}/supervisord.sock`,
    SUPERVISOR_GROUP_NAME: group,
    SUPERVISOR_PROCESS_NAME: name,
  };
}

const kresd = (dir: string, n: number): FakeProcess => ({
  argv: ["/usr/sbin/kresd", "-c", `${dir}/kresd${n}.lua`, "-n", dir, "-S", "3", "-S", "4"],
  env: supervised(dir, "kresd", `kresd${n}`),
});
const cacheGc = (dir: string): FakeProcess => ({
  argv: ["/usr/sbin/kres-cache-gc", "-c", `${dir}/cache`, "-d", "1000"],
  env: supervised(dir, "cache-gc"),
});
const manager = (dir: string): FakeProcess => ({
  argv: ["/usr/bin/node", "/opt/krm/dist/bundle/manager.js", "-c", "/etc/knot-resolver/config.yaml"],
  env: supervised(dir, "manager"),
});
const supervisord = (dir: string): FakeProcess => ({
  argv: ["/usr/bin/python3", "/usr/bin/supervisord", "-n", "-c", `${dir}/supervisord.conf`],
  comm: "supervisord",
});

const found = (dir = rundir) => findOrphans(dir, { procRoot: proc }).map((o) => [o.pid, o.kind, o.name]);

describe("findOrphans", () => {
  it("finds the workers, cache-gc and manager of the rundir whose supervisord is gone, the manager first", () => {
    fake(301, kresd(rundir, 1));
    fake(300, kresd(rundir, 0));
    fake(310, kresd(rundir, 10));
    fake(302, cacheGc(rundir));
    fake(303, manager(rundir));
    expect(found()).toEqual([
      [303, "manager", "manager"],
      [302, "cache-gc", "cache-gc"],
      [300, "kresd", "kresd:kresd0"],
      [301, "kresd", "kresd:kresd1"],
      [310, "kresd", "kresd:kresd10"],
    ]);
    expect(describeOrphans(findOrphans(rundir, { procRoot: proc }).slice(0, 3))).toBe(
      "manager (pid 303), cache-gc (pid 302), kresd:kresd0 (pid 300)",
    );
  });

  it("leaves alone the children of a live supervisord running this rundir's supervisord.conf", () => {
    fake(200, supervisord(rundir));
    fake(201, { ...kresd(rundir, 0), ppid: 200 });
    fake(202, { ...cacheGc(rundir), ppid: 200 });
    fake(203, { ...kresd(rundir, 1), ppid: 1 });
    expect(found()).toEqual([[203, "kresd", "kresd:kresd1"]]);
  });

  it("takes a parent that is a zombie supervisord, or another rundir's, for a dead one", () => {
    fake(200, { ...supervisord(rundir), state: "Z" });
    fake(210, supervisord(`${rundir}2`));
    fake(201, { ...kresd(rundir, 0), ppid: 200 });
    fake(202, { ...kresd(rundir, 1), ppid: 210 });
    expect(found()).toEqual([
      [201, "kresd", "kresd:kresd0"],
      [202, "kresd", "kresd:kresd1"],
    ]);
  });

  it("never mixes rundirs that share a prefix: /x/run and /x/run2", () => {
    const other = `${rundir}2`;
    fs.mkdirSync(other);
    fake(400, kresd(other, 0));
    fake(401, cacheGc(other));
    fake(402, kresd(rundir, 0));
    expect(found()).toEqual([[402, "kresd", "kresd:kresd0"]]);
    expect(found(other)).toEqual([
      [401, "cache-gc", "cache-gc"],
      [400, "kresd", "kresd:kresd0"],
    ]);
    expect(found(path.join(base, "ru"))).toEqual([]);
  });

  it("compares resolved paths: the rundir spelled through a symbolic link is the same rundir", () => {
    const link = path.join(base, "link");
    fs.symlinkSync(rundir, link);
    fake(500, kresd(link, 0));
    expect(found()).toEqual([[500, "kresd", "kresd:kresd0"]]);
  });

  it("does not take a process for ours on its environment alone: the command line must be that program's", () => {
    // The rundir's supervisord environment, but a command line that is not kresd for this rundir.
    fake(600, { argv: ["/bin/sleep", "1000"], env: supervised(rundir, "kresd", "kresd0") });
    fake(601, { ...kresd(`${rundir}2`, 0), env: supervised(rundir, "kresd", "kresd0") });
    fake(602, { argv: ["/bin/sleep", "1000"], env: supervised(rundir, "cache-gc") });
    fake(603, { argv: ["/usr/bin/node", "/srv/other.js"], env: supervised(rundir, "manager") });
    fake(604, { argv: ["/usr/bin/python3", "x.py"], env: supervised(rundir, "someprogram") });
    expect(found()).toEqual([]);
  });

  it("ignores a kresd on this rundir that no supervisord of the rundir started (no such environment)", () => {
    fake(700, { ...kresd(rundir, 0), env: { PATH: "/usr/bin" } });
    fake(701, { ...kresd(rundir, 1), env: supervised(`${rundir}2`, "kresd", "kresd1") });
    fake(702, { ...kresd(rundir, 2), env: { SUPERVISOR_SERVER_URL: "http://127.0.0.1:9001" } });
    expect(found()).toEqual([]);
  });

  it("skips zombies (they hold no socket any more) and entries it cannot read", () => {
    fake(800, { ...kresd(rundir, 0), state: "Z" });
    fs.mkdirSync(path.join(proc, "801")); // gone while being read: no files
    fs.mkdirSync(path.join(proc, "self"));
    expect(found()).toEqual([]);
  });
});

/** A socket file at `file`, like the one a kresd leaves when it is killed (the server stays open). */
const servers: net.Server[] = [];
async function socketFile(file: string): Promise<void> {
  const server = net.createServer().listen(file);
  servers.push(server);
  await new Promise((r) => server.once("listening", r));
}
afterAll(() => {
  for (const s of servers) s.close();
});

describe("removeStaleControlSockets", () => {
  it("removes the control sockets of workers that are gone, keeps those of live workers and anything else", async () => {
    const control = path.join(rundir, "control");
    fake(900, kresd(rundir, 0));
    fake(901, { argv: ["/bin/sleep", "1000"] }); // a PID reused by an unrelated process
    for (const pid of [900, 901, 902]) await socketFile(path.join(control, String(pid)));
    fs.writeFileSync(path.join(control, "903"), "not a socket");
    await socketFile(path.join(control, "notes"));
    expect(removeStaleControlSockets(rundir, { procRoot: proc }).sort()).toEqual([
      path.join(control, "901"),
      path.join(control, "902"),
    ]);
    expect(fs.readdirSync(control).sort()).toEqual(["900", "903", "notes"]);
  });

  it("is content with a rundir that has no control directory", () => {
    fs.rmSync(path.join(rundir, "control"), { recursive: true });
    expect(removeStaleControlSockets(rundir, { procRoot: proc })).toEqual([]);
  });
});
