/**
 * kresctl import-lua over the corpus of kresd 5 configs (test/fixtures/import-lua/): each config is
 * run in the LuaJIT sandbox (real luajit), translated, and its YAML must hold the facts its sidecar
 * lists, print exactly the warnings listed (FILE:LINE), and pass `kresctl validate`. Configs kresd 5
 * refuses exit 1 naming the line (test/integration/import-lua.test.ts checks kresd says the same
 * line). Then the sandbox itself: what a config may not do while it is evaluated.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { getAt, hasAt } from "../../../lib/utils/json-pointer.js";

type Json = Parameters<typeof getAt>[0];
import { runSandbox } from "../../../lib/cli/import-lua/run.js";
import { corpus } from "../../fixtures/import-lua/corpus.js";
import { kresctl } from "./fake-manager.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-unit-import-lua-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const ENV = { PATH: process.env.PATH, KRES_MANAGER_CONFIG: "/nonexistent/config.yaml" };

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

const CORPUS = corpus();

it("the corpus holds at least 20 configs, most of them converted", () => {
  expect(CORPUS.length).toBeGreaterThanOrEqual(20);
  expect(CORPUS.filter((c) => c.exit === 0).length).toBeGreaterThanOrEqual(20);
});

describe.each(CORPUS.map((c) => [c.name, c] as const))("corpus: %s", (_name, c) => {
  if (c.exit === 1) {
    it(`exits 1 naming line ${c.error?.line}: ${c.about}`, async () => {
      const r = await kresctl(["import-lua", c.file, ...c.args], { env: { ...ENV, ...c.env } });
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err).toContain(`${c.file}:${c.error?.line}:`);
      expect(r.err).toContain(c.error?.match);
    });
    return;
  }

  it(`converts: ${c.about}`, async () => {
    const out = path.join(dir, `${c.name}.yaml`);
    const r = await kresctl(["import-lua", c.file, "-o", out, ...c.args], { env: { ...ENV, ...c.env } });
    expect({ code: r.code, out: r.out }).toEqual({ code: 0, out: "" });
    const doc = yaml.load(fs.readFileSync(out, "utf8")) as Json;
    for (const [pointer, value] of Object.entries(c.facts)) {
      expect([pointer, getAt(doc, pointer)]).toEqual([pointer, value]);
    }
    for (const pointer of c.absent) expect([pointer, hasAt(doc, pointer)]).toEqual([pointer, false]);
    if (c.script) {
      const script = getAt(doc, "/lua/script") as string;
      let from = 0;
      for (const line of c.script) {
        const at = script.indexOf(line, from);
        expect([line, at >= from]).toEqual([line, true]);
        from = at + line.length;
      }
    }
    // Exactly the warnings listed, each naming FILE:LINE.
    const lines = r.err.split("\n").filter((l) => l !== "");
    expect(lines).toHaveLength(c.warnings.length);
    for (const w of c.warnings) {
      expect(
        lines.filter(
          (l) => l.startsWith(`kresctl: import-lua: ${c.file}:${w.line}: `) && l.includes(w.match),
        ),
      ).toHaveLength(1);
    }
    // … and what it wrote passes `kresctl validate`.
    const v = await kresctl(["validate", out]);
    expect(v).toEqual({
      code: 0,
      out: `${out}: valid (file-system checks skipped; --strict runs them)\n`,
      err: "",
    });
  });
});

describe("import-lua's output", () => {
  it("stdout holds the YAML alone, the warnings go to stderr", async () => {
    const conf = file(
      "mixed.conf",
      "net.listen('127.0.0.1', 5353)\nuser('knot-resolver')\nprint('hello from the config')\n",
    );
    const r = await kresctl(["import-lua", conf], { env: ENV });
    expect(r.code).toBe(0);
    expect(yaml.load(r.out)).toEqual({ network: { listen: [{ interface: "127.0.0.1", port: 5353 }] } });
    expect(r.err).toBe(
      `kresctl: import-lua: ${conf}:2: user('knot-resolver'): the manager runs the workers as its own user (start it as that user, e.g. with systemd's User=)\n`,
    );
  });

  it("a config without net.listen gets kresd 5's default listeners (plain DNS on 53 and 853), written out", async () => {
    const r = await kresctl(["import-lua", file("quiet.conf", "cache.size = 20 * MB\n")], { env: ENV });
    expect(r.code).toBe(0);
    expect(yaml.load(r.out)).toEqual({
      network: {
        listen: [
          { interface: "127.0.0.1", port: 53 },
          { interface: "127.0.0.1", port: 853 },
          { interface: "::1", port: 53, freebind: true },
          { interface: "::1", port: 853, freebind: true },
        ],
      },
      cache: { "size-max": "20M" },
    });
  });

  it("--keep-lua carries untranslatable statements verbatim, in order; the script compiles", async () => {
    const conf = file(
      "keep.conf",
      [
        "net.listen('127.0.0.1', 53)",
        "local function nightly()",
        "  cache.clear()",
        "end",
        "event.recurrent(1 * day, nightly)",
        "policy.add(policy.pattern(policy.DENY, 'ads'))",
        "",
      ].join("\n"),
    );
    const r = await kresctl(["import-lua", conf, "--keep-lua"], { env: ENV });
    expect(r.code).toBe(0);
    const script = (yaml.load(r.out) as { lua: { script: string } }).lua.script;
    expect(script.split("\n").filter((l) => !l.startsWith("--"))).toEqual([
      "local function nightly()",
      "  cache.clear()",
      "end",
      "event.recurrent(1 * day, nightly)",
      "policy.add(policy.pattern(policy.DENY, 'ads'))",
      "",
    ]);
    // LuaJIT compiles it (kresd's Lua), listing thrown away
    execFileSync("luajit", ["-bl", file("kept.lua", script)], { stdio: "ignore" });
    expect(script).toContain("-- keep.conf:2-4 (definitions)\n");
    expect(script).toContain("-- keep.conf:6\n");
    expect(r.err.match(/\[carried into lua\.script\]/g)).toHaveLength(2);
  });

  it("--keep-lua does not carry a statement that also did translated things (it would do them twice)", async () => {
    const conf = file(
      "loop.conf",
      "for _, n in ipairs({'a.example', 'b.example'}) do\n  policy.add(policy.suffix(policy.DENY, {todname(n)}))\n  policy.add(policy.pattern(policy.DENY, n))\nend\n",
    );
    const r = await kresctl(["import-lua", conf, "--keep-lua"], { env: ENV });
    expect(r.code).toBe(0);
    expect(yaml.load(r.out)).not.toHaveProperty("lua");
    expect(r.err).toContain(`${conf}:1: lines 1-4 also did what the YAML holds; not carried into lua.script`);
  });

  it("a second modules.load('hints') forgets the hints set before, as kresd 5 reloads the module", async () => {
    const conf = file(
      "reload.conf",
      "modules.load('hints')\nhints['a.lan'] = '192.168.1.1'\nmodules.load('hints > iterate')\nhints['b.lan'] = '192.168.1.2'\n",
    );
    const r = await kresctl(["import-lua", conf], { env: ENV });
    expect(r.code).toBe(0);
    expect((yaml.load(r.out) as { "local-data": unknown })["local-data"]).toEqual({
      addresses: { "b.lan": "192.168.1.2" },
      ttl: "5s",
    });
    expect(r.err).toContain(`${conf}:3: modules.load('hints') again`);
  });

  it("what the config says reaches stderr without control characters", async () => {
    const conf = file(
      "esc.conf",
      "policy.add(policy.suffix(policy.DENY_MSG('x\\27[2J\\rgone'), {'a.example'}))\n",
    );
    const r = await kresctl(["import-lua", conf], { env: ENV });
    expect(r.code).toBe(0);
    expect(r.err).toContain("cannot add the message 'x\\u001b[2J\\u000dgone'");
    expect(r.err.includes("\u001b") || r.err.includes("\r")).toBe(false);
  });

  it("-o writes the file; nothing on stdout", async () => {
    const out = path.join(dir, "o.yaml");
    const r = await kresctl(["import-lua", file("o.conf", "net.listen('::1', 53)\n"), "-o", out], {
      env: ENV,
    });
    expect({ code: r.code, out: r.out, err: r.err }).toEqual({ code: 0, out: "", err: "" });
    expect(yaml.load(fs.readFileSync(out, "utf8"))).toEqual({
      network: { listen: [{ interface: "::1", port: 53 }] },
    });
  });

  it("a missing file is an error naming it", async () => {
    const r = await kresctl(["import-lua", path.join(dir, "nope.conf")], { env: ENV });
    expect(r.code).toBe(1);
    expect(r.err).toContain("nope.conf: cannot read: ENOENT");
  });
});

describe("the sandbox", () => {
  const run = (name: string, text: string, limits = {}) => runSandbox(file(name, text), name, ENV, limits);

  it.each([
    ["io.open('/tmp/x', 'w')", "global 'io'"],
    ["os.execute('touch /tmp/x')", "os.execute is not evaluated"],
    ["os.remove('/tmp/x')", "os.remove is not evaluated"],
    ["require('socket')", "require('socket') is not evaluated"],
    ["require('ffi')", "require('ffi') is not evaluated"],
    ["dofile('/etc/passwd')", "global 'dofile'"],
    ["loadstring('return 1')()", "global 'loadstring'"],
    ["string.dump(print)", "field 'dump'"],
  ])("refuses %s, as something it does not evaluate", (code, message) => {
    const r = run("deny.conf", `${code}\n`);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.stage).toBe(code.startsWith("string.dump") ? "runtime" : "unsupported");
    expect(r.message).toContain(message);
    expect(r.line).toBe(1);
  });

  it("bounds instructions, memory and wall-clock time", () => {
    const loop = run("loop.conf", "local n = 0\nwhile true do n = n + 1 end\n", { instructions: 1_000_000 });
    expect(loop).toMatchObject({ ok: false, stage: "limit", line: 2 });
    const mem = run("mem.conf", "local t = {}\nfor i = 1, 1e9 do t[i] = {i} end\n", { kbytes: 16 * 1024 });
    expect(mem).toMatchObject({ ok: false, stage: "limit", line: 2 });
    const rep = run("rep.conf", "local s = ('x'):rep(1e10)\n", { kbytes: 16 * 1024 });
    expect(rep).toMatchObject({ ok: false, stage: "limit", line: 1 });
    // a wall-clock bound shorter than the instruction bound: node kills the child
    expect(() => run("slow.conf", "while true do end\n", { instructions: 1e15, timeoutMs: 300 })).toThrow(
      /ran longer than 0.3 s; stopped/,
    );
  });

  it("records the line of each call, inside functions and loops too, and its top-level statement", () => {
    const r = run(
      "lines.conf",
      "local function f(a)\n  net.listen(a, 53)\nend\nfor _, a in ipairs({'127.0.0.1', '::1'}) do\n  f(a)\nend\n",
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.events.map((e) => [e.op, e.line, e.top])).toEqual([
      ["listen", 2, 5],
      ["listen", 2, 5],
    ]);
    expect(r.spans).toEqual([
      [1, 3],
      [4, 6],
    ]);
  });

  it("gives names in kresd's wire format (todname) and as text alike", () => {
    const r = run(
      "names.conf",
      "policy.add(policy.suffix(policy.DENY, {'\\7example\\3com\\0', 'Example.NET'}))\n",
    );
    expect(r.ok && r.events[0]?.rule).toMatchObject({ names: ["example.com.", "example.net."] });
  });

  it("passes non-ASCII text through as UTF-8", () => {
    const r = run("utf8.conf", "modules.load('nsid')\nnsid.name('résolveur-1')\n");
    expect(r.ok && r.events[1]).toMatchObject({ op: "nsid", value: "résolveur-1" });
  });
});
