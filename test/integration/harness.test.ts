/** The shared harness (harness/) against the real kresd 5.6, knotd and kdig. */
import * as fs from "node:fs";
import * as path from "node:path";
import {
  REPO_ROOT,
  run,
  waitFor,
  cleanupAll,
  freePort,
  kdigAt,
  GroupProcess,
  KdigError,
  startKnotd,
  startKresd,
  tmpDir,
  OFFLINE_MODULES,
} from "../../harness/index.js";
import { PROC_DIR } from "../../harness/cleanup.js";

const ZONE = `
$TTL 300
@    SOA ns hostmaster 1 3600 600 86400 300
@    NS  ns
ns   A   127.0.0.1
www  A   192.0.2.1
txt  TXT "hello world"
`;

describe("freePort", () => {
  it("hands out distinct ports, free for TCP and UDP, even when asked concurrently", async () => {
    const ports = await Promise.all(Array.from({ length: 20 }, () => freePort()));
    expect(new Set(ports).size).toBe(20);
  });

  it("stays inside a given range", async () => {
    const ports = await Promise.all(Array.from({ length: 5 }, () => freePort({ min: 25000, max: 25999 })));
    for (const p of ports) expect(p).toBeGreaterThanOrEqual(25000);
    for (const p of ports) expect(p).toBeLessThanOrEqual(25999);
    expect(new Set(ports).size).toBe(5);
  });
});

describe("tmpDir", () => {
  it("creates a new empty directory each time", () => {
    const a = tmpDir();
    const b = tmpDir();
    expect(a).not.toBe(b);
    expect(fs.readdirSync(a)).toEqual([]);
  });
});

describe("startKresd", () => {
  it("starts kresd on a free port, answers on the control socket and to kdig, and stops", async () => {
    const kresd = await startKresd({ lua: "modules.load('nsid')\nnsid.name('harness')" });
    expect(kresd.port).toBeGreaterThan(0);
    expect(await kresd.control("1+1")).toBe("2");
    expect(await kresd.control("worker.pid")).toBe(String(kresd.pid));
    const r = await kresd.query("localhost", "A", "+nsid");
    expect(r).toMatchObject({ rcode: "NOERROR", nsid: "harness" });
    expect(r.answers[0]?.data).toBe("127.0.0.1");
    expect(fs.existsSync(`${PROC_DIR}/${kresd.pid}`)).toBe(true);
    expect(await kresd.stop()).toEqual({ code: 0, signal: null });
    expect(fs.existsSync(`${PROC_DIR}/${kresd.pid}`)).toBe(false);
    await expect(kdigAt(kresd.port!, "localhost", "A", "+timeout=1")).rejects.toThrow(KdigError);
  });

  it("fails with kresd's error when the Lua does not load", async () => {
    await expect(startKresd({ lua: "this is not lua" })).rejects.toThrow(
      /kresd did not get ready: it exited.*\n(.|\n)*error/,
    );
  });
});

describe("the offline guard of startKresd", () => {
  // Loaded guarded modules | any trust anchor | root hints, as one line of Lua.
  const STATE = [
    "(function() local loaded, out, roots = {}, {}, {}",
    "for _, m in ipairs(modules.list()) do loaded[m] = true end",
    `for _, m in ipairs({'${OFFLINE_MODULES.join("', '")}'}) do if loaded[m] then out[#out + 1] = m end end`,
    "for name, addrs in pairs(hints.root()) do roots[#roots + 1] = name .. '=' .. table.concat(addrs, ',') end",
    "return table.concat(out, ' ') .. '|' .. tostring(next(trust_anchors.keysets) ~= nil) .. '|' .. table.concat(roots, ' ') end)()",
  ].join(" ");

  it("is on by default: no self-querying module, no trust anchor, root hints on loopback only", async () => {
    const kresd = await startKresd({ lua: "" });
    expect(await kresd.control(STATE)).toBe("'|false|root.invalid.=127.0.0.1'");
  });

  it("keeps DNSSEC (trust anchors, ta_update) and chosen modules when asked", async () => {
    const kresd = await startKresd({ lua: "", offline: { dnssec: true, keep: ["priming"] } });
    expect(await kresd.control(STATE)).toBe("'priming ta_update|true|root.invalid.=127.0.0.1'");
  });
});

describe("startKnotd", () => {
  it("serves the given zones; a kresd can be pointed at it", async () => {
    const knotd = await startKnotd({ zones: { "example.test": ZONE } });
    const www = await knotd.query("www.example.test", "A");
    expect(www.flags.aa).toBe(true);
    expect(www.answers).toEqual([
      { name: "www.example.test.", ttl: 300, type: "A", class: "IN", data: "192.0.2.1" },
    ]);

    const kresd = await startKresd({
      lua: `policy.add(policy.suffix(policy.STUB({'127.0.0.1@${knotd.port}'}), {todname('example.test.')}))`,
    });
    const txt = await kresd.query("txt.example.test", "TXT");
    expect(txt.answers.map((a) => a.data)).toEqual(['"hello world"']);
  });
});

describe("safety net", () => {
  it("cleanupAll() stops every process the file started", async () => {
    const sleeper = new GroupProcess("/bin/sleep", ["600"]);
    expect(sleeper.running).toBe(true);
    await cleanupAll();
    expect(sleeper.exitStatus).toEqual({ code: null, signal: "SIGTERM" });
  });

  it("a watchdog kills what a jest process started when it dies without running any hook", async () => {
    const pidFile = path.join(tmpDir(), "pid");
    const jest = await run(
      path.join(REPO_ROOT, "node_modules/.bin/jest"),
      ["--runInBand", "--roots", "<rootDir>/test/fixtures", "--testMatch", "**/killed-worker.fixture.ts"],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, KRM_FIXTURE_PID_FILE: pidFile, NODE_OPTIONS: "--experimental-vm-modules" },
        timeoutMs: 60000,
      },
    );
    expect(jest.signal).toBe("SIGKILL");
    const pid = Number(fs.readFileSync(pidFile, "utf8"));
    expect(pid).toBeGreaterThan(0);
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor("the sleeper to be killed", () => (alive() ? undefined : true), { timeoutMs: 5000 });
  }, 90000);
});
