/**
 * network.tls.watchdog against a real resolver: two kresd workers with a DoT listener, certificates
 * made by openssl here, replaced the ways deploy tools do it (renamed over, certbot's live/ symlinks
 * switched). What DoT serves is read from real handshakes (openssl s_client); plain DNS stays under
 * a dnsperf load meanwhile. The tests run in order on one resolver.
 */
import { jest } from "@jest/globals";
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { apiCall } from "../../harness/api.js";
import { startDnsperf } from "../../harness/dnsperf.js";
import { freePort } from "../../harness/ports.js";
import { waitFor } from "../../harness/procs.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";
import { tmpDir } from "../../harness/tmp.js";
import { selfSignedCert, servedCertificate, type TlsFiles } from "../../harness/tls.js";

jest.setTimeout(180_000);

const NAMES = Array.from({ length: 20 }, (_, i) => `host${i}.tls.test.`);
/** Handshakes per check: with two workers, a worker left out is seen with probability 1 - 2^-12. */
const HANDSHAKES = 12;
/** The watchdog settles for 1 s; this is the most a reload may take here, on a busy machine too. */
const RELOAD_WITHIN_MS = 10_000;

let r: Resolver;
let dot: number;
let dir: string;
/** The plain files the resolver starts with. */
let plain: TlsFiles;
let serial = 0;

/** A new self-signed pair in dir/made/, with its certificate's SHA-256 fingerprint. */
async function newPair(): Promise<TlsFiles & { fingerprint: string }> {
  serial++;
  const made = await selfSignedCert(path.join(dir, "made"), {
    cn: `cert${serial}.tls.test`,
    base: `p${serial}`,
  });
  return { ...made, fingerprint: new X509Certificate(fs.readFileSync(made.cert)).fingerprint256 };
}

/** Copies `from` beside `to` and renames it over `to`, as certbot and most deploy tools replace files. */
function renameOver(from: string | Buffer, to: string): void {
  const tmp = `${to}.tmp`;
  if (typeof from === "string") fs.copyFileSync(from, tmp);
  else fs.writeFileSync(tmp, from);
  fs.renameSync(tmp, to);
}

/** Points the symlink `link` at `target` in one step (a new link renamed over it), as certbot does. */
function switchLink(link: string, target: string): void {
  fs.symlinkSync(target, `${link}.tmp`);
  fs.renameSync(`${link}.tmp`, link);
}

/** The fingerprints DoT serves over HANDSHAKES fresh handshakes. */
async function served(): Promise<Set<string>> {
  const seen = new Set<string>();
  for (let i = 0; i < HANDSHAKES; i++) seen.add((await servedCertificate(dot)).fingerprint256);
  return seen;
}

/** Waits until DoT serves `fingerprint`, then checks that every handshake does. */
async function waitServed(fingerprint: string): Promise<void> {
  await waitFor(
    `DoT serving ${fingerprint}`,
    async () => ((await servedCertificate(dot)).fingerprint256 === fingerprint ? true : undefined),
    { timeoutMs: RELOAD_WITHIN_MS, intervalMs: 100 },
  );
  expect([...(await served())]).toEqual([fingerprint]);
}

async function kresdPids(): Promise<number[]> {
  return [...(await r.status())]
    .filter(([n, row]) => n.startsWith("kresd:") && row.state === "RUNNING")
    .map(([, row]) => row.pid as number)
    .sort();
}

const count = (re: RegExp) => r.log.match(new RegExp(re, "g"))?.length ?? 0;
const RELOADED = /TLS certificate reloaded in 2 worker\(s\)/;

async function put(pointer: string, body: unknown): Promise<void> {
  const res = await apiCall(r.apiSocket, "PUT", `/v1/config${pointer}`, { body });
  expect([res.status, res.text]).toEqual([200, expect.anything()]);
}

let first: TlsFiles & { fingerprint: string };

beforeAll(async () => {
  dir = tmpDir("krm-tls-watchdog-");
  fs.mkdirSync(path.join(dir, "made"));
  fs.mkdirSync(path.join(dir, "plain"));
  plain = { cert: path.join(dir, "plain", "cert.pem"), key: path.join(dir, "plain", "key.pem") };
  first = await newPair();
  fs.copyFileSync(first.cert, plain.cert);
  fs.copyFileSync(first.key, plain.key);
  const port = await freePort();
  dot = await freePort();
  r = await startResolver({
    port,
    config: {
      workers: 2,
      "local-data": { addresses: Object.fromEntries(NAMES.map((n, i) => [n, `192.0.2.${i + 1}`])) },
      network: {
        listen: [{ interface: `127.0.0.1@${port}` }, { interface: `127.0.0.1@${dot}`, kind: "dot" }],
        tls: { watchdog: true, "cert-file": plain.cert, "key-file": plain.key },
      },
    },
  });
}, 120_000);
afterAll(async () => {
  await r?.stop();
});

it("serves a pair renamed over the old one within seconds; plain DNS loses nothing; no worker restarts", async () => {
  expect([...(await served())]).toEqual([first.fingerprint]);
  const pids = await kresdPids();
  expect(pids).toHaveLength(2);
  const next = await newPair();
  const load = startDnsperf({ port: r.port, names: NAMES, qps: 500, seconds: 6 });
  await new Promise((res) => setTimeout(res, 1000));
  renameOver(next.cert, plain.cert);
  renameOver(next.key, plain.key);
  await waitServed(next.fingerprint);
  const result = await load.done;
  expect(result.sent).toBeGreaterThan(2000);
  expect({ lost: result.lost, completed: result.completed }).toEqual({ lost: 0, completed: result.sent });
  expect(await kresdPids()).toEqual(pids);
  expect(count(RELOADED)).toBe(1);
  expect(r.log).toMatch(
    new RegExp(
      `TLS certificate reloaded in 2 worker\\(s\\) from ${plain.cert} and ${plain.key}: CN=cert${serial}\\.tls\\.test, valid until`,
    ),
  );
});

it("refuses a broken or mismatched replacement (old certificate kept, one error line each), takes the next good one", async () => {
  const pids = await kresdPids();
  const [kept] = await served();
  const reloads = count(RELOADED);
  renameOver(
    Buffer.from("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n"),
    plain.cert,
  );
  const garbage = new RegExp(`error: TLS certificate not reloaded: ${plain.cert}: is not a PEM certificate`);
  await waitFor("the refusal of the broken certificate", () => (count(garbage) > 0 ? true : undefined), {
    timeoutMs: RELOAD_WITHIN_MS,
  });
  expect([...(await served())]).toEqual([kept]);

  const next = await newPair();
  renameOver(next.cert, plain.cert); // the key is still the previous pair's
  const mismatch = new RegExp(
    `error: TLS certificate not reloaded: ${plain.key}: does not match the certificate in ${plain.cert}`,
  );
  await waitFor("the refusal of the mismatched key", () => (count(mismatch) > 0 ? true : undefined), {
    timeoutMs: RELOAD_WITHIN_MS,
  });
  expect([...(await served())]).toEqual([kept]);

  renameOver(next.key, plain.key);
  await waitServed(next.fingerprint);
  expect([count(garbage), count(mismatch), count(RELOADED) - reloads]).toEqual([1, 1, 1]);
  expect(await kresdPids()).toEqual(pids);
});

describe("certbot's layout: live/ symlinks into archive/", () => {
  const live = () => ({ cert: path.join(dir, "live", "cert.pem"), key: path.join(dir, "live", "key.pem") });

  beforeAll(async () => {
    fs.mkdirSync(path.join(dir, "live"));
    fs.mkdirSync(path.join(dir, "archive"));
  });

  /** Puts `pair` into archive/ as certN/keyN and switches live/'s links to it. */
  function deploy(pair: TlsFiles): void {
    const cert = `cert${serial}.pem`;
    const key = `key${serial}.pem`;
    fs.copyFileSync(pair.cert, path.join(dir, "archive", cert));
    fs.copyFileSync(pair.key, path.join(dir, "archive", key));
    switchLink(live().cert, `../archive/${cert}`);
    switchLink(live().key, `../archive/${key}`);
  }

  it("serves the new pair after the links switch, without a restart or a lost query", async () => {
    const start = await newPair();
    deploy(start);
    // New paths: new Lua, so the workers restart once here, and the watchdog watches live/ and archive/.
    await put("/network/tls", { watchdog: true, "cert-file": live().cert, "key-file": live().key });
    await waitServed(start.fingerprint);
    const pids = await kresdPids();
    const next = await newPair();
    const load = startDnsperf({ port: r.port, names: NAMES, qps: 500, seconds: 6 });
    await new Promise((res) => setTimeout(res, 1000));
    deploy(next);
    await waitServed(next.fingerprint);
    const result = await load.done;
    expect({ lost: result.lost, completed: result.completed }).toEqual({ lost: 0, completed: result.sent });
    expect(await kresdPids()).toEqual(pids);
  });

  it("watchdog false keeps the old certificate (a worker started later reads the new files); turned on again, restarts nothing and follows", async () => {
    const pids = await kresdPids();
    const [old] = await served();
    await put("/network/tls/watchdog", false);
    expect(await kresdPids()).toEqual(pids); // the workers' Lua does not depend on it
    const reloads = count(RELOADED);
    const next = await newPair();
    deploy(next);
    await new Promise((res) => setTimeout(res, 5000));
    expect([...(await served())]).toEqual([old]);
    expect(count(RELOADED)).toBe(reloads);

    // A restarted worker runs the Lua that names the files: it reads them as they are now.
    const victim = pids[0] as number;
    process.kill(victim, "SIGKILL");
    const restarted = await waitFor(
      "the killed worker back",
      async () => {
        const now = await kresdPids();
        return now.length === 2 && !now.includes(victim) ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    let seen = new Set<string>();
    for (let i = 0; i < 4 && seen.size < 2; i++) seen = new Set([...seen, ...(await served())]);
    expect([...seen].sort()).toEqual([old, next.fingerprint].sort());

    await put("/network/tls/watchdog", true);
    expect(await kresdPids()).toEqual(restarted);
    const last = await newPair();
    deploy(last);
    await waitServed(last.fingerprint);
    expect(await kresdPids()).toEqual(restarted);
  });
});
