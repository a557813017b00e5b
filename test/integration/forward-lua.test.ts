// Runs a real knotd serving a small unsigned zone and real kresd 5.6 workers with the Lua rendered
// from `forward`, `dnssec` and `dns64` configs, and checks with kdig what clients get.
// Ports 23000-23999 belong to this file (knotd on 23053, kresd from 23100). There is no internet
// here: every kresd gets the harness's offline guard after its config (harness/kresd.ts), so
// it sends nothing but to knotd and loopback; the tests that need DNSSEC keep the trust anchors.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { OFFLINE_LUA, offlineLua } from "../../harness/offline.js";

const KRESD = "/usr/sbin/kresd";
const KNOTD = "/usr/sbin/knotd";
const KNOTD_PORT = 23053;
const run = promisify(execFile);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kres-fwd-int-"));
const running = new Set<ChildProcess>();
let knotd: ChildProcess | undefined;
let nextPort = 23100;

const ZONE = `$ORIGIN example.test.
$TTL 300
@       SOA ns hostmaster 1 3600 900 604800 300
@       NS  ns
ns      A   127.0.0.1
@       TXT "hello from knotd"
www     A   192.0.2.10
v4only  A   198.51.100.7
dual    A   192.0.2.20
dual    AAAA 2001:db8::20
`;

const REVERSE_ZONE = `$ORIGIN 100.51.198.in-addr.arpa.
$TTL 300
@       SOA ns.example.test. hostmaster.example.test. 1 3600 900 604800 300
@       NS  ns.example.test.
7       PTR v4only.example.test.
`;

async function stop(proc: ChildProcess): Promise<void> {
  running.delete(proc);
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once("exit", resolve));
  proc.kill("SIGTERM");
  const timer = setTimeout(() => proc.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
}

function spawnLogged(cmd: string, args: string[]): { proc: ChildProcess; output: () => string } {
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(proc);
  let out = "";
  proc.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  proc.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  return { proc, output: () => out };
}

interface Answer {
  status: string;
  answer: string[];
}

/** One kdig query (recursion desired); answer records as 'name ttl class type data'. */
async function dig(port: number, name: string, type: string): Promise<Answer> {
  const { stdout } = await run("kdig", [
    "@127.0.0.1",
    "-p",
    String(port),
    name,
    type,
    "+timeout=3",
    "+retry=0",
  ]).catch((e: { stdout?: string }) => ({ stdout: e.stdout ?? "" }));
  const status = /status: (\w+)/.exec(stdout)?.[1] ?? "NO ANSWER";
  const m = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout);
  const answer = (m?.[1] ?? "")
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => l.trim().split(/\s+/).join(" "));
  return { status, answer };
}

async function waitFor(what: string, ok: () => Promise<boolean>, proc: ChildProcess, log: () => string) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null || proc.signalCode !== null) {
      throw new Error(`${what} exited (${proc.exitCode ?? proc.signalCode}):\n${log()}`);
    }
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up:\n${log()}`);
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    sock.once("connect", () => {
      sock.destroy();
      resolve(true);
    });
    sock.once("error", () => resolve(false));
  });
}

interface Kresd {
  port: number;
  proc: ChildProcess;
  lua: string;
  output: () => string;
  /** Evaluates one Lua expression on the worker's control socket; returns its text answer. */
  control: (expr: string) => Promise<string>;
}

/**
 * Validates `data` (plus a listener and a cache of its own), renders it and starts kresd with the
 * offline guard `offline` after the rendered config (`lua` is the rendered config alone).
 */
async function startKresd(data: Record<string, unknown>, offline = OFFLINE_LUA): Promise<Kresd> {
  const port = nextPort++;
  const rundir = fs.mkdtempSync(path.join(tmp, "run-"));
  const storage = fs.mkdtempSync(path.join(tmp, "cache-"));
  const cfg = validateConfig(
    { rundir, cache: { storage }, network: { listen: [{ interface: `127.0.0.1@${port}` }] }, ...data },
    { baseDir: tmp },
  );
  const lua = renderWorkerLua(cfg);
  const file = path.join(rundir, "kresd.lua");
  fs.writeFileSync(file, `${lua}\n${offline}`);
  const { proc, output } = spawnLogged(KRESD, ["-n", "-c", file, rundir]);
  const log = () => `${output()}\n--- config:\n${lua}`;
  await waitFor("kresd's TCP listener", () => tcpOpen(port), proc, log);
  await waitFor("kresd", async () => (await dig(port, "localhost", "A")).status !== "NO ANSWER", proc, log);
  const control = (expr: string) => controlEval(path.join(rundir, "control", String(proc.pid)), expr);
  return { port, proc, lua, output, control };
}

/** kresd's control socket: a '> ' prompt, one expression per line, a text answer, a new prompt. */
function controlEval(socketPath: string, expr: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(socketPath);
    let buf = "";
    let sent = false;
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer to '${expr}' on ${socketPath}: ${JSON.stringify(buf)}`));
    }, 5000);
    sock.on("error", reject);
    sock.on("data", (d: Buffer) => {
      buf += d.toString();
      if (!sent && buf.endsWith("> ")) {
        sent = true;
        buf = "";
        sock.write(`${expr}\n`);
      } else if (sent && buf.endsWith("> ")) {
        clearTimeout(timer);
        sock.end();
        resolve(buf.slice(0, -2).trim());
      }
    });
  });
}

beforeAll(async () => {
  const dir = path.join(tmp, "knotd");
  for (const sub of ["zones", "db", "run"]) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  fs.writeFileSync(path.join(dir, "zones", "example.test.zone"), ZONE);
  fs.writeFileSync(path.join(dir, "zones", "reverse.zone"), REVERSE_ZONE);
  const conf = path.join(dir, "knot.conf");
  fs.writeFileSync(
    conf,
    [
      "server:",
      `    rundir: ${dir}/run`,
      `    listen: 127.0.0.1@${KNOTD_PORT}`,
      "database:",
      `    storage: ${dir}/db`,
      "log:",
      "  - target: stderr",
      "    any: info",
      "zone:",
      "  - domain: example.test",
      `    storage: ${dir}/zones`,
      "    file: example.test.zone",
      "  - domain: 100.51.198.in-addr.arpa",
      `    storage: ${dir}/zones`,
      "    file: reverse.zone",
      "",
    ].join("\n"),
  );
  const { proc, output } = spawnLogged(KNOTD, ["-c", conf]);
  knotd = proc;
  await waitFor(
    "knotd",
    async () => (await dig(KNOTD_PORT, "www.example.test", "A")).answer.length > 0,
    proc,
    output,
  );
});

afterEach(async () => {
  for (const p of [...running]) if (p !== knotd) await stop(p);
});

afterAll(async () => {
  for (const p of [...running]) await stop(p);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const toKnotd = (options: object = {}) => ({
  subtree: "example.test",
  servers: [`127.0.0.1@${KNOTD_PORT}`],
  options,
});

describe("kresd 5.6 forwarding to knotd", () => {
  it("answers the zone's records through a forward rule with dnssec: false", async () => {
    const k = await startKresd({ forward: [toKnotd({ dnssec: false })] });
    expect(k.lua).toContain(`policy.FORWARD({"127.0.0.1@${KNOTD_PORT}"})`);
    expect(await dig(k.port, "www.example.test", "A")).toEqual({
      status: "NOERROR",
      answer: ["www.example.test. 300 IN A 192.0.2.10"],
    });
    expect(await dig(k.port, "example.test", "TXT")).toEqual({
      status: "NOERROR",
      answer: ['example.test. 300 IN TXT "hello from knotd"'],
    });
  });

  it("validates forwarded answers by default: the unsigned zone cannot be proven insecure here", async () => {
    // Needs validation on: the guard keeps the root trust anchor (its upkeep goes to loopback).
    const k = await startKresd({ forward: [toKnotd()] }, offlineLua({ dnssec: true }));
    expect((await dig(k.port, "www.example.test", "A")).status).toBe("SERVFAIL");
  });

  it("with dnssec.enable: false validates nothing: the root trust anchor is gone", async () => {
    const k = await startKresd({ dnssec: { enable: false }, forward: [toKnotd()] });
    expect(await dig(k.port, "www.example.test", "A")).toMatchObject({ status: "NOERROR" });
    expect(await k.control("trust_anchors.summary()")).toContain(
      "No valid trust anchors, DNSSEC validation is disabled",
    );
    expect(await k.control("ta_sentinel == nil and ta_signal_query == nil and detect_time_skew == nil")).toBe(
      "true",
    );
  });

  it("synthesizes AAAA records for A-only names with dns64.enable: true", async () => {
    const k = await startKresd({ dns64: { enable: true }, forward: [toKnotd({ dnssec: false })] });
    expect(await dig(k.port, "v4only.example.test", "AAAA")).toEqual({
      status: "NOERROR",
      answer: ["v4only.example.test. 300 IN AAAA 64:ff9b::c633:6407"],
    });
    // A name with its own AAAA keeps it.
    expect((await dig(k.port, "dual.example.test", "AAAA")).answer).toEqual([
      "dual.example.test. 300 IN AAAA 2001:db8::20",
    ]);
  });

  it("keeps DNS64 off with a prefix but without enable, as upstream", async () => {
    const k = await startKresd({
      dns64: { prefix: "64:ff9b:1::/96" },
      forward: [toKnotd({ dnssec: false })],
    });
    expect(await dig(k.port, "v4only.example.test", "AAAA")).toMatchObject({ status: "NOERROR", answer: [] });
    expect(await k.control("dns64 == nil")).toBe("true");
  });

  it("applies the dns64 prefix, exclude-subnets and reverse-ttl", async () => {
    const k = await startKresd({
      dns64: {
        enable: true,
        prefix: "64:ff9b:1::/96",
        "reverse-ttl": "42s",
        "exclude-subnets": ["2001:db8::/48"],
      },
      forward: [
        toKnotd({ dnssec: false }),
        {
          subtree: "100.51.198.in-addr.arpa",
          servers: [`127.0.0.1@${KNOTD_PORT}`],
          options: { dnssec: false },
        },
      ],
    });
    expect((await dig(k.port, "v4only.example.test", "AAAA")).answer).toEqual([
      "v4only.example.test. 300 IN AAAA 64:ff9b:1::c633:6407",
    ]);
    // dual's own AAAA (2001:db8::20) is in an excluded subnet: synthesized from its A instead.
    expect((await dig(k.port, "dual.example.test", "AAAA")).answer).toEqual([
      "dual.example.test. 300 IN AAAA 64:ff9b:1::c000:214",
    ]);
    const reverse = "7.0.4.6.3.3.6.c.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.b.9.f.f.4.6.0.0.ip6.arpa.";
    // The reverse name of a synthesized address is a CNAME (with reverse-ttl) to the IPv4 one. kresd 5.6
    // applies forward rules to the client's QNAME only, not to CNAME targets, so the IPv4 reverse
    // name is asked first (forwarded to knotd) and then comes from the cache.
    expect((await dig(k.port, "7.100.51.198.in-addr.arpa", "PTR")).answer).toEqual([
      "7.100.51.198.in-addr.arpa. 300 IN PTR v4only.example.test.",
    ]);
    expect(await dig(k.port, reverse, "PTR")).toEqual({
      status: "NOERROR",
      answer: [
        `${reverse} 42 IN CNAME 7.100.51.198.in-addr.arpa.`,
        "7.100.51.198.in-addr.arpa. 300 IN PTR v4only.example.test.",
      ],
    });
  });

  it("loads every dnssec option into kresd", async () => {
    const keyFile = path.join(tmp, "root.key");
    fs.copyFileSync("/usr/share/dns/root.key", keyFile);
    const k = await startKresd(
      {
        dnssec: {
          "log-bogus": true,
          sentinel: false,
          "signal-query": false,
          "trust-anchors-files": [{ file: keyFile, "read-only": true }],
          "trust-anchors": ["example.com. 300 IN DS 12345 13 2 " + "AB".repeat(32)],
          "negative-trust-anchors": ["bad.example"],
        },
        forward: [toKnotd({ dnssec: false })],
      },
      // This test reads the root key from the file: DNSSEC stays on.
      offlineLua({ dnssec: true }),
    );
    // The RFC 5011 knobs 6.0.17 removed keep kresd's defaults (no refresh override, 30 days).
    expect(
      await k.control(
        "ta_update.keep_removed .. ' ' .. ta_update.hold_down_time .. ' ' .. tostring(ta_update.refresh_time)",
      ),
    ).toBe("'0 2592000000 nil'");
    expect(await k.control("ta_sentinel == nil and ta_signal_query == nil and bogus_log ~= nil")).toBe(
      "true",
    );
    const summary = await k.control("trust_anchors.summary()");
    expect(summary).toContain("bad.example. is negative trust anchor");
    expect(summary).toContain("example.test. is negative trust anchor");
    expect(summary).toContain("example.com.");
    expect(summary).toMatch(/^\.\s+\d+\s+DNSKEY\s+257/m);
    // The forwarded subtree is still answered: its NTA was applied next to the configured ones.
    expect((await dig(k.port, "www.example.test", "A")).status).toBe("NOERROR");
  });

  it("loads TLS, STUB and root forward rules, most specific first", async () => {
    // Loopback servers only: queries do reach the root rule (kresd 5.6 matches it before its
    // special-use names, so even the 'localhost' probe is forwarded), and nothing may leave the host.
    const k = await startKresd({
      forward: [
        {
          subtree: ".",
          servers: [{ address: ["127.0.0.2@23853", "::1@23854"], transport: "tls", hostname: "dns.example" }],
        },
        {
          subtree: "corp.example",
          servers: [
            {
              address: "127.0.0.3@23855",
              transport: "tls",
              "pin-sha256": "QG9ztvxxNI7XYYr1d9FcECNR6mpXk8goqfOycJrJkgc=",
            },
          ],
        },
        {
          subtree: "dc.corp.example",
          servers: ["127.0.0.4"],
          options: { authoritative: true, dnssec: false },
        },
        toKnotd({ dnssec: false }),
      ],
    });
    expect(await k.control("#policy.rules")).toBe("4");
    // The most specific rule wins even though the root rule comes first in the config.
    expect(await dig(k.port, "www.example.test", "A")).toMatchObject({ status: "NOERROR" });
  });
});
