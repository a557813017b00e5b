// Starts real kresd 5.6 with the Lua rendered from `views` and `local-data` configs and checks
// with kdig that the declared data and access rules are what clients get.
// Ports 22000-22999 belong to this file. kresd has no internet here, so only local answers are
// asked for; the harness's offline guard (harness/kresd.ts), appended after each config,
// keeps kresd's own queries (priming, trust anchors) on loopback.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { ConfigValidationError } from "../../lib/datamodel/errors.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { luaStr } from "../../lib/utils/lua-literal.js";
import { OFFLINE_LUA } from "../../harness/offline.js";

const KRESD = "/usr/sbin/kresd";
const run = promisify(execFile);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kres-ld-int-"));
const started: ChildProcess[] = [];
let nextPort = 22100;

function killAll(): void {
  for (const p of started.splice(0)) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
}
afterAll(() => {
  killAll();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function render(data: Record<string, unknown>, port: number): string {
  const cache = { storage: fs.mkdtempSync(path.join(tmp, "cache-")) };
  let lua: string;
  try {
    lua = renderWorkerLua(
      validateConfig(
        { ...data, cache, network: { listen: [{ interface: [`127.0.0.1@${port}`] }] } },
        { baseDir: tmp },
      ),
    );
  } catch (e) {
    if (!(e instanceof ConfigValidationError) || !e.problems.every((p) => p.pointer.startsWith("/network")))
      throw e;
    lua =
      renderWorkerLua(validateConfig({ ...data, cache }, { baseDir: tmp })) +
      `net.listen(${luaStr("127.0.0.1")}, ${port}, {kind = "dns"})\n`;
  }
  return `${lua}\n${OFFLINE_LUA}`;
}

interface Answer {
  status: string;
  answer: string[];
  authority: string[];
}

/** One kdig query; answer and authority records with TTL and class columns normalised. */
async function dig(port: number, args: string[]): Promise<Answer> {
  const { stdout } = await run("kdig", [
    "@127.0.0.1",
    "-p",
    String(port),
    ...args,
    "+timeout=2",
    "+retry=0",
  ]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? "NO ANSWER";
  const section = (name: string) => {
    const m = new RegExp(`;; ${name} SECTION:\\n([\\s\\S]*?)(?:\\n\\n|$)`).exec(stdout);
    return (m?.[1] ?? "")
      .split("\n")
      .filter((l) => l.trim() !== "")
      .map((l) => l.trim().split(/\s+/).join(" "));
  };
  return { status, answer: section("ANSWER"), authority: section("AUTHORITY") };
}

async function startKresd(lua: string, port: number): Promise<{ output: () => string }> {
  const rundir = fs.mkdtempSync(path.join(tmp, "run-"));
  const file = path.join(rundir, "kresd.lua");
  fs.writeFileSync(file, lua);
  const proc = spawn(KRESD, ["-n", "-c", file, rundir], { stdio: ["ignore", "pipe", "pipe"] });
  started.push(proc);
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`kresd exited (${proc.exitCode ?? proc.signalCode}):\n${out}\n--- config:\n${lua}`);
    }
    if ((await dig(port, ["localhost", "A"])).status !== "NO ANSWER") return { output: () => out };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kresd did not answer on port ${port}:\n${out}`);
}

const SOA = "SOA localhost. nobody.invalid. 1 3600 1200 604800 10800";

describe("kresd 5.6 serving local-data and views", () => {
  const hostsFile = path.join(tmp, "custom.hosts");
  const rpzFile = path.join(tmp, "block.rpz");
  const rpz = (extra: string) =>
    [
      "$TTL 300",
      "@ SOA localhost. nobody.invalid. 1 3600 1200 604800 10800",
      "@ NS localhost.",
      "blocked.example CNAME .",
      "*.wild.example CNAME .",
      "nodata.example CNAME *.",
      "fake.example A 192.0.2.99",
      extra,
      "",
    ].join("\n");
  let port = 0;

  beforeAll(async () => {
    fs.writeFileSync(
      hostsFile,
      "# hosts\n192.0.2.50 hostfile.example alias.hostfile.example\n2001:db8::50 hostfile.example\n",
    );
    fs.writeFileSync(rpzFile, rpz(""));
    port = nextPort++;
    const lua = render(
      {
        rundir: fs.mkdtempSync(path.join(tmp, "cfg-")),
        views: [
          { subnets: ["127.0.0.0/8"], answer: "refused" },
          { subnets: ["127.0.0.1"], tags: ["t1"] },
          { subnets: ["127.0.0.2/32"], answer: "allow" },
          { subnets: ["127.0.0.4/32"], answer: "noanswer" },
          { subnets: ["127.0.0.5/32"], protocols: ["tcp53"], answer: "allow" },
          { subnets: ["127.0.0.6/32"], "dst-subnet": "127.0.0.1/32", answer: "allow" },
          { subnets: ["127.0.0.7/32"], "dst-subnet": "127.0.0.9/32", answer: "allow" },
        ],
        "local-data": {
          addresses: {
            "a1.example": ["192.0.2.1", "2001:db8::1"],
            "only4.example": "192.0.2.4",
            "host.test": "192.0.2.44",
          },
          "addresses-files": ["custom.hosts"],
          records: [
            "rec.example. 60 A 192.0.2.10",
            "rec.example. AAAA 2001:db8::10",
            'rec.example. TXT "hello world"',
            "mail.example. MX 10 rec.example.",
            "alias.example. CNAME rec.example.",
            "",
          ].join("\n"),
          rules: [
            { name: "empty.example", subtree: "empty" },
            { name: "nx.example", subtree: "nxdomain" },
            { name: "redirect.example", subtree: "redirect", address: "192.0.2.77" },
            { name: "t.example", subtree: "nxdomain" },
            { name: "x.t.example", address: "192.0.2.111", tags: ["t1"], ttl: "1m" },
          ],
          rpz: [{ file: "block.rpz", watchdog: true }],
        },
      },
      port,
    );
    await startKresd(lua, port);
  });
  afterAll(killAll);

  const q = (...args: string[]) => dig(port, ["-b", "127.0.0.1", ...args]);

  it("answers addresses with exactly the declared A and AAAA, and their PTR", async () => {
    expect(await q("a1.example", "A")).toEqual({
      status: "NOERROR",
      answer: ["a1.example. 300 IN A 192.0.2.1"],
      authority: [],
    });
    expect((await q("a1.example", "AAAA")).answer).toEqual(["a1.example. 300 IN AAAA 2001:db8::1"]);
    expect((await q("-x", "2001:db8::1")).answer).toEqual([
      "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. 300 IN PTR a1.example.",
    ]);
  });

  it("answers NODATA for a name with only an A asked for AAAA", async () => {
    expect(await q("only4.example", "AAAA")).toEqual({
      status: "NOERROR",
      answer: [],
      authority: [`only4.example. 300 IN ${SOA}`],
    });
  });

  it("serves local data under special-use names that kresd 5.6 otherwise blocks", async () => {
    expect((await q("host.test", "A")).answer).toEqual(["host.test. 300 IN A 192.0.2.44"]);
  });

  it("serves a hosts file, with PTR for the canonical name only", async () => {
    expect((await q("hostfile.example", "A")).answer).toEqual(["hostfile.example. 300 IN A 192.0.2.50"]);
    expect((await q("hostfile.example", "AAAA")).answer).toEqual([
      "hostfile.example. 300 IN AAAA 2001:db8::50",
    ]);
    expect((await q("alias.hostfile.example", "A")).answer).toEqual([
      "alias.hostfile.example. 300 IN A 192.0.2.50",
    ]);
    expect((await q("-x", "192.0.2.50")).answer).toEqual([
      "50.2.0.192.in-addr.arpa. 300 IN PTR hostfile.example.",
    ]);
  });

  it("answers zone-file records as declared, following a local CNAME", async () => {
    expect((await q("rec.example", "A")).answer).toEqual(["rec.example. 60 IN A 192.0.2.10"]);
    expect((await q("rec.example", "AAAA")).answer).toEqual(["rec.example. 300 IN AAAA 2001:db8::10"]);
    expect((await q("rec.example", "TXT")).answer).toEqual(['rec.example. 300 IN TXT "hello world"']);
    expect((await q("mail.example", "MX")).answer).toEqual(["mail.example. 300 IN MX 10 rec.example."]);
    expect(await q("alias.example", "A")).toEqual({
      status: "NOERROR",
      answer: ["alias.example. 300 IN CNAME rec.example.", "rec.example. 60 IN A 192.0.2.10"],
      authority: [],
    });
  });

  it("answers subtree rules: empty, nxdomain and redirect", async () => {
    expect(await q("empty.example", "A")).toEqual({
      status: "NOERROR",
      answer: [],
      authority: [`empty.example. 300 IN ${SOA}`],
    });
    expect((await q("empty.example", "SOA")).answer).toEqual([`empty.example. 300 IN ${SOA}`]);
    expect((await q("deep.in.empty.example", "A")).status).toBe("NXDOMAIN");
    expect(await q("nx.example", "A")).toEqual({
      status: "NXDOMAIN",
      answer: [],
      authority: [`nx.example. 300 IN ${SOA}`],
    });
    expect((await q("a.b.nx.example", "AAAA")).status).toBe("NXDOMAIN");
    expect((await q("redirect.example", "A")).answer).toEqual(["redirect.example. 300 IN A 192.0.2.77"]);
    expect((await q("any.name.redirect.example", "A")).answer).toEqual([
      "any.name.redirect.example. 300 IN A 192.0.2.77",
    ]);
    expect(await q("any.redirect.example", "AAAA")).toMatchObject({ status: "NOERROR", answer: [] });
  });

  it("blocks what the RPZ lists, and reloads it when the file changes", async () => {
    expect(await q("blocked.example", "A")).toMatchObject({ status: "NXDOMAIN", answer: [] });
    expect((await q("below.blocked.example", "A")).status).toBe("NXDOMAIN");
    expect((await q("x.wild.example", "A")).status).toBe("NXDOMAIN");
    expect(await q("nodata.example", "A")).toMatchObject({ status: "NOERROR", answer: [] });
    expect((await q("fake.example", "A")).answer).toEqual(["fake.example. 300 IN A 192.0.2.99"]);

    fs.writeFileSync(rpzFile, rpz("late.example A 192.0.2.98"));
    let late = await q("late.example", "A");
    for (let i = 0; i < 30 && late.answer.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      late = await q("late.example", "A");
    }
    expect(late.answer).toEqual(["late.example. 300 IN A 192.0.2.98"]);
  });

  it("applies tagged rules only to clients of views with that tag", async () => {
    expect((await dig(port, ["-b", "127.0.0.1", "x.t.example", "A"])).answer).toEqual([
      "x.t.example. 60 IN A 192.0.2.111",
    ]);
    // 127.0.0.2's view has no tag: the untagged subtree rule answers instead.
    expect(await dig(port, ["-b", "127.0.0.2", "x.t.example", "A"])).toMatchObject({
      status: "NXDOMAIN",
      answer: [],
    });
  });

  it("refuses clients of a refused view, lets allowed ones through, drops noanswer ones", async () => {
    expect((await dig(port, ["-b", "127.0.0.3", "a1.example", "A"])).status).toBe("REFUSED");
    // the view acts before any policy rule, so even special-use names are refused
    expect((await dig(port, ["-b", "127.0.0.3", "host.test", "A"])).status).toBe("REFUSED");
    expect((await dig(port, ["-b", "127.0.0.2", "a1.example", "A"])).answer).toEqual([
      "a1.example. 300 IN A 192.0.2.1",
    ]);
    expect((await dig(port, ["-b", "127.0.0.4", "a1.example", "A"])).status).toBe("NO ANSWER");
  });

  it("matches protocols and destination subnets as additional conditions", async () => {
    expect((await dig(port, ["-b", "127.0.0.5", "a1.example", "A"])).status).toBe("REFUSED");
    expect((await dig(port, ["-b", "127.0.0.5", "+tcp", "a1.example", "A"])).status).toBe("NOERROR");
    expect((await dig(port, ["-b", "127.0.0.6", "a1.example", "A"])).status).toBe("NOERROR");
    expect((await dig(port, ["-b", "127.0.0.7", "a1.example", "A"])).status).toBe("REFUSED");
  });
});

describe("kresd 5.6 with a single view", () => {
  afterEach(killAll);

  it("refuses 127.0.0.0/8 with answer: refused, and answers it with answer: allow", async () => {
    const data = (answer: string) => ({
      rundir: fs.mkdtempSync(path.join(tmp, "cfg-")),
      views: [{ subnets: ["127.0.0.0/8"], answer }],
      "local-data": { addresses: { "a.example": "192.0.2.1" } },
    });
    const refusing = nextPort++;
    await startKresd(render(data("refused"), refusing), refusing);
    expect((await dig(refusing, ["a.example", "A"])).status).toBe("REFUSED");

    const allowing = nextPort++;
    await startKresd(render(data("allow"), allowing), allowing);
    expect((await dig(allowing, ["a.example", "A"])).answer).toEqual(["a.example. 300 IN A 192.0.2.1"]);
  });

  it("refuses to start on a broken records text, naming the place", async () => {
    const p = nextPort++;
    const lua = render(
      {
        rundir: fs.mkdtempSync(path.join(tmp, "cfg-")),
        "local-data": { records: "bad.example. A not-an-ip\n" },
      },
      p,
    );
    await expect(startKresd(lua, p)).rejects.toThrow(/\/local-data\/records:1/);
  });
});
