/**
 * The rendered `network` Lua in a real kresd 5.6: several listeners (plain DNS on two ports, one of
 * them by interface name, DoT, DoH2 and legacy DoH with our own certificate) each answer a query,
 * and the other settings change what kresd does on the wire.
 * Ports 21000-21999 belong to this test. Every kresd gets the harness's offline guard after its
 * config (harness/kresd.ts).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { OFFLINE_LUA } from "../../harness/offline.js";

const KRESD = "/usr/sbin/kresd";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "kr-net-lua-"));
const started: ChildProcess[] = [];

const haveOpenssl = spawnSync("openssl", ["version"]).status === 0;
const certFile = path.join(tmp, "cert.pem");
const keyFile = path.join(tmp, "key.pem");
if (haveOpenssl) {
  // Self-signed, valid for the name kdig is told to check, so +tls-ca proves which cert is served.
  const r = spawnSync("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", keyFile, "-out", certFile, "-days", "2", "-subj", "/CN=kres-test.example",
    "-addext", "subjectAltName=DNS:kres-test.example",
  ]); // prettier-ignore
  if (r.status !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
}

function kdig(args: string[]): { ok: boolean; out: string } {
  const r = spawnSync("kdig", ["+retry=0", "+timeout=3", ...args], { encoding: "utf8", timeout: 15000 });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

const sleep = (ms: number) => new Promise((res) => setTimeout(res, ms));

/** Writes the worker Lua for `config` into its own rundir, starts kresd, waits until `probePort` answers. */
async function startKresd(name: string, config: Record<string, unknown>, probePort: number): Promise<string> {
  const rundir = path.join(tmp, name);
  fs.mkdirSync(rundir);
  // Each kresd gets its own cache in its rundir: nothing shared with other tests or the system.
  const cfg = validateConfig(
    { rundir, cache: { storage: rundir }, ...config },
    { strict: true, baseDir: tmp },
  );
  const luaFile = path.join(rundir, "worker.lua");
  fs.writeFileSync(luaFile, `${renderWorkerLua(cfg)}\n${OFFLINE_LUA}`);
  const log = fs.openSync(path.join(rundir, "kresd.log"), "w");
  // Own process group, so afterAll can end kresd and anything it spawned.
  const child = spawn(KRESD, ["-n", "-c", luaFile, rundir], { detached: true, stdio: ["ignore", log, log] });
  started.push(child);
  fs.closeSync(log); // the child has its own copy
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) break;
    if (kdig(["@127.0.0.1", "-p", String(probePort), "+timeout=1", "localhost", "A"]).ok) return luaFile;
    await sleep(100);
  }
  const text = fs.readFileSync(path.join(rundir, "kresd.log"), "utf8");
  throw new Error(`kresd '${name}' did not come up (exit ${child.exitCode}):\n${text}`);
}

function stop(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // already gone
  }
}

afterAll(() => {
  for (const child of started) stop(child);
  fs.rmSync(tmp, { recursive: true, force: true });
});

const NOERROR_LOCALHOST = /status: NOERROR[\s\S]*localhost\.\s+\d+\s+IN\s+A\s+127\.0\.0\.1/;

describe("several listeners from network.listen", () => {
  const tlsCa = [`+tls-ca=${certFile}`, "+tls-hostname=kres-test.example"];

  beforeAll(async () => {
    await startKresd(
      "listeners",
      {
        network: {
          listen: [
            { interface: "127.0.0.1@21001" },
            { interface: "lo", port: 21002, freebind: true }, // by name: every address of 'lo'
            ...(haveOpenssl
              ? [
                  { interface: "127.0.0.1", port: 21003, kind: "dot" },
                  { interface: "127.0.0.1@21004", kind: "doh2" },
                  { interface: "127.0.0.1@21005", kind: "doh-legacy" },
                ]
              : []),
          ],
          tls: haveOpenssl ? { "cert-file": certFile, "key-file": keyFile, padding: 128 } : {},
        },
      },
      21001,
    );
  });

  it.each([
    ["UDP", 21001, []],
    ["TCP", 21001, ["+tcp"]],
    ["UDP on 'lo' by name", 21002, []],
    ["TCP on 'lo' by name", 21002, ["+tcp"]],
  ])("plain DNS over %s on port %d answers", (_what, port, extra) => {
    const r = kdig(["@127.0.0.1", "-p", String(port), ...extra, "localhost", "A"]);
    expect(r.out).toMatch(NOERROR_LOCALHOST);
  });

  it("the interface name also bound the interface's IPv6 address", () => {
    expect(kdig(["@::1", "-p", "21002", "localhost", "A"]).out).toMatch(NOERROR_LOCALHOST);
  });

  (haveOpenssl ? it : it.skip)("DoT answers with the configured certificate, padded", () => {
    const r = kdig(["@127.0.0.1", "-p", "21003", "+tls", ...tlsCa, "+padding", "localhost", "A"]);
    expect(r.out).toMatch(NOERROR_LOCALHOST);
    expect(r.out).toMatch(/PADDING: \d+ B/);
  });

  (haveOpenssl ? it : it.skip)(
    "DoT refuses a client that trusts another CA (the cert really is ours)",
    () => {
      const r = kdig([
        "@127.0.0.1",
        "-p",
        "21003",
        "+tls",
        ...tlsCa.slice(0, 1),
        "+tls-hostname=other.example",
      ]);
      expect(r.out).not.toMatch(/status: NOERROR/);
    },
  );

  (haveOpenssl ? it : it.skip)("DoH over HTTP/2 answers with the configured certificate", () => {
    const r = kdig(["@127.0.0.1", "-p", "21004", "+https", ...tlsCa, "localhost", "A"]);
    expect(r.out).toMatch(NOERROR_LOCALHOST);
  });

  (haveOpenssl ? it : it.skip)("legacy DoH (http module) answers with the configured certificate", () => {
    const r = kdig(["@127.0.0.1", "-p", "21005", "+https=/doh", ...tlsCa, "localhost", "A"]);
    expect(r.out).toMatch(NOERROR_LOCALHOST);
  });

  it("a port no listen entry names stays closed", () => {
    const r = kdig(["@127.0.0.1", "-p", "21006", "+timeout=1", "localhost", "A"]);
    expect(r.ok).toBe(false);
  });
});

describe("other network settings take effect", () => {
  beforeAll(async () => {
    await startKresd(
      "tweaks",
      {
        network: {
          listen: [{ interface: "127.0.0.1", port: 21011 }],
          "edns-buffer-size": { downstream: "4K", upstream: "1400B" },
          "edns-tcp-keepalive": false,
          "tcp-pipeline": 50,
          "address-renumbering": [{ source: "127.0.0.0/24", destination: "10.20.30.0" }],
          "proxy-protocol": { enable: true, allow: ["127.0.0.1", "fd00:dead::/64"] },
          "out-interface-v4": "127.0.0.1",
          "do-ipv6": false,
          tls: { "sticket-secret": "a secret that is long enough: 0123456789" },
        },
      },
      21011,
    );
  });

  it("address-renumbering rewrites 127.0.0.0/24 in answers into 10.20.30.0/24", () => {
    const r = kdig(["@127.0.0.1", "-p", "21011", "localhost", "A"]);
    expect(r.out).toMatch(/status: NOERROR[\s\S]*localhost\.\s+\d+\s+IN\s+A\s+10\.20\.30\.1/);
  });

  it("edns-buffer-size.downstream is what kresd advertises to clients", () => {
    // AAAA: an answer that renumbering leaves alone (a rewritten one is rebuilt without EDNS).
    const r = kdig(["@127.0.0.1", "-p", "21011", "+edns", "localhost", "AAAA"]);
    expect(r.out).toMatch(/status: NOERROR[\s\S]*UDP size: 4096 B/);
  });

  it("proxy-protocol: an allowed client's PROXYv2 header is understood", () => {
    const r = kdig(["@127.0.0.1", "-p", "21011", "+proxy=127.0.0.9-127.0.0.1", "localhost", "AAAA"]);
    expect(r.out).toMatch(/status: NOERROR[\s\S]*localhost\.\s+\d+\s+IN\s+AAAA\s+::1/);
  });

  it("edns-tcp-keepalive: false leaves the EDNS keepalive option out of TCP answers", () => {
    const r = kdig(["@127.0.0.1", "-p", "21011", "+tcp", "+ednsopt=11", "localhost", "A"]);
    expect(r.out).toMatch(/status: NOERROR/);
    expect(r.out).not.toMatch(/Option \(11\)/); // kdig 3.2 prints the keepalive option by its code
  });
});

describe("an interface name that does not exist", () => {
  it("stops kresd at start-up with the name in the error", async () => {
    const rundir = path.join(tmp, "noiface");
    fs.mkdirSync(rundir);
    const cfg = validateConfig(
      { rundir, cache: { storage: rundir }, network: { listen: [{ interface: "nosuchif0", port: 21031 }] } },
      { strict: true, baseDir: tmp },
    );
    const luaFile = path.join(rundir, "worker.lua");
    fs.writeFileSync(luaFile, `${renderWorkerLua(cfg)}\n${OFFLINE_LUA}`);
    const child = spawn(KRESD, ["-n", "-c", luaFile, rundir], {
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    started.push(child);
    let output = "";
    child.stdout?.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 10000);
      child.on("exit", (c) => {
        clearTimeout(timer);
        resolve(c);
      });
    });
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain("network interface 'nosuchif0' not found");
  });
});

describe("defaults", () => {
  beforeAll(async () => {
    await startKresd("keepalive", { network: { listen: [{ interface: "127.0.0.1@21021" }] } }, 21021);
  });

  it("TCP answers carry the EDNS keepalive option", () => {
    const r = kdig(["@127.0.0.1", "-p", "21021", "+tcp", "+ednsopt=11", "localhost", "A"]);
    expect(r.out).toMatch(/Option \(11\): 0064/); // 100 units of 100 ms: kresd's 10 s idle timeout
  });

  it("a PROXYv2 header is not accepted from anyone", () => {
    const r = kdig([
      "@127.0.0.1",
      "-p",
      "21021",
      "+proxy=127.0.0.9-127.0.0.1",
      "+timeout=1",
      "localhost",
      "A",
    ]);
    expect(r.out).not.toMatch(/status: NOERROR/);
  });

  it("the advertised EDNS buffer size is 1232 B", () => {
    const r = kdig(["@127.0.0.1", "-p", "21021", "+edns", "localhost", "A"]);
    expect(r.out).toMatch(/status: NOERROR[\s\S]*UDP size: 1232 B/);
  });
});
