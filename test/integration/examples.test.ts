/**
 * The example configurations of etc/config/ work as their comments say: each validates and converts
 * with kresctl, and, localized by the test overlay of harness/examples.ts (temporary dirs,
 * loopback listeners on free ports, a test certificate, forwarding to a test knotd — nothing else),
 * its Lua is loaded by a real kresd 5.6 that answers kdig exactly what the config declares.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../../lib/datamodel/config.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import {
  KRESCTL,
  KdigError,
  ensureBuilt,
  freePort,
  kdig,
  run,
  startKnotd,
  startKresd,
  tmpDir,
  waitFor,
  type DnsRecord,
  type KdigResult,
  type Knotd,
  type Kresd,
} from "../../harness/index.js";
import {
  CONFIG_DIR,
  EXAMPLES,
  changedPointers,
  exampleFile,
  hasIpv6Loopback,
  localize,
  readExample,
  type ExampleName,
  type Localization,
} from "../../harness/examples.js";
import { selfSignedCert } from "../../harness/tls.js";

let ipv6 = false;

beforeAll(async () => {
  ensureBuilt();
  ipv6 = await hasIpv6Loopback();
}, 180000);

interface Prepared {
  raw: Record<string, unknown>;
  localized: Record<string, unknown>;
  config: KresConfig;
  /** The rendered worker Lua (startKresd appends its offline guard). */
  lua: string;
  /** Port of each listen entry, in order. */
  ports: number[];
  dir: string;
  tls?: { cert: string; key: string };
}

/** Reads an example, localizes it, validates it strictly (baseDir etc/config) and renders its Lua. */
async function prepare(name: ExampleName, extra: Partial<Localization> = {}): Promise<Prepared> {
  const raw = readExample(name);
  const dir = tmpDir(`krm-example-${name}-`);
  const listen = (raw.network as { listen?: unknown[] } | undefined)?.listen ?? [];
  const ports: number[] = [];
  for (let i = 0; i < listen.length; i++) ports.push(await freePort());
  const tlsSet = (raw.network as { tls?: Record<string, unknown> } | undefined)?.tls?.["cert-file"];
  const tls = tlsSet !== undefined ? await selfSignedCert(dir) : undefined;
  const localized = localize(raw, { dir, ports, ipv6, tls, ...extra });
  const config = validateConfig(localized, { baseDir: CONFIG_DIR, strict: true });
  const lua = renderWorkerLua(config);
  fs.writeFileSync(path.join(dir, "worker.lua"), lua); // for KRM_KEEP_TMP=1 post-mortems
  return { raw, localized, config, lua, ports, dir, tls };
}

// One line of Lua: true when the harness's offline guard is in effect (no trust anchor, none of the
// modules that query the root on their own, root hints only on loopback).
const IS_OFFLINE = [
  "(function() local ok = next(trust_anchors.keysets) == nil",
  "for _, m in ipairs({'priming', 'ta_update', 'detect_time_skew', 'ta_signal_query', 'ta_sentinel'}) do ok = ok and _G[m] == nil end",
  "local n = 0 for _, addrs in pairs(hints.root()) do n = n + 1 ok = ok and #addrs == 1 and addrs[1] == '127.0.0.1' end",
  "return ok and n == 1 end)()",
].join(" ");

/**
 * Starts one kresd on the example's Lua in the config's rundir (several workers share it); it
 * listens by itself (the localized listen entries). Checks that it is kept off the internet.
 */
async function start(p: Prepared): Promise<Kresd> {
  const kresd = await startKresd({
    lua: p.lua,
    listen: false,
    port: p.ports[0],
    rundir: p.config.rundir,
    offline: true, // the harness's guard, appended after the rendered Lua
  });
  expect(await kresd.control(IS_OFFLINE)).toBe("true");
  return kresd;
}

/** kdig from `source` (any 127/8 address works on Linux loopback) to 127.0.0.1:port. */
function ask(port: number, name: string, type: string, ...opts: string[]): Promise<KdigResult> {
  return kdig(["@127.0.0.1", "-p", String(port), name, type, ...opts]);
}

function from(source: string, port: number, name: string, type: string): Promise<KdigResult> {
  return kdig(["-b", source, "@127.0.0.1", "-p", String(port), name, type]);
}

/** The answer section as 'name ttl TYPE data' lines, sorted. */
function rrs(r: KdigResult, section: DnsRecord[] = r.answers): string[] {
  return section.map((rr) => `${rr.name} ${rr.ttl} ${rr.type} ${rr.data}`).sort();
}

/** The response is a NOERROR answer carrying exactly these records. */
function expectAnswer(r: KdigResult, expected: string[]): void {
  expect({ rcode: r.rcode, answers: rrs(r) }).toEqual({ rcode: "NOERROR", answers: [...expected].sort() });
}

/**
 * Like expectAnswer, for answers that went through kresd's cache (forwarded, DNS64): their TTL
 * counts down from the declared one, so a TTL up to 30 s lower is taken as the declared one.
 */
function expectCachedAnswer(r: KdigResult, expected: string[]): void {
  const declared = new Map(expected.map((line) => [line.split(" ")[0], Number(line.split(" ")[1])]));
  const answers = r.answers.map((rr) => {
    const ttl = declared.get(rr.name);
    const shown = ttl !== undefined && rr.ttl <= ttl && rr.ttl > ttl - 30 ? ttl : rr.ttl;
    return `${rr.name} ${shown} ${rr.type} ${rr.data}`;
  });
  expect({ rcode: r.rcode, answers: answers.sort() }).toEqual({
    rcode: "NOERROR",
    answers: [...expected].sort(),
  });
}

/** NOERROR and an empty answer (NODATA). */
function expectNodata(r: KdigResult): void {
  expect({ rcode: r.rcode, answers: rrs(r) }).toEqual({ rcode: "NOERROR", answers: [] });
}

function expectNxdomain(r: KdigResult): void {
  expect({ rcode: r.rcode, answers: rrs(r) }).toEqual({ rcode: "NXDOMAIN", answers: [] });
}

/** The SOA that Knot Resolver's local data puts in its negative answers (localhost. nobody.invalid.). */
const LOCAL_DATA_SOA = /^localhost\. nobody\.invalid\. /;

describe("kresctl on every example (as shipped, without the test overlay)", () => {
  it.each(Object.keys(EXAMPLES) as ExampleName[])(
    "%s: validate --no-strict and convert --no-strict exit 0",
    async (name) => {
      const file = exampleFile(name);
      const v = await run(KRESCTL, ["validate", "--no-strict", file]);
      expect({ code: v.code, stderr: v.stderr }).toEqual({ code: 0, stderr: "" });
      expect(v.stdout).toContain("valid");
      const c = await run(KRESCTL, ["convert", "--no-strict", file]);
      expect({ code: c.code, stderr: c.stderr }).toEqual({ code: 0, stderr: "" });
      expect(c.stdout).toMatch(/^-- Generated by knot-resolver-manager/);
      expect(c.stdout).toContain("net.listen(");
    },
  );
});

describe("the test overlay", () => {
  it.each(Object.keys(EXAMPLES) as ExampleName[])(
    "%s: changes only runtime paths, listeners, TLS files and forward servers",
    async (name) => {
      const p = await prepare(name, { forwardTo: "127.0.0.1@1" });
      const allowed = [
        /^\/rundir$/,
        /^\/cache\/storage$/,
        /^\/management\/unix-socket$/,
        /^\/network\/listen\/\d+\/(interface|port)$/,
        /^\/network\/tls\/(cert-file|key-file)$/,
        /^\/forward\/\d+\/servers$/,
      ];
      const changed = changedPointers(p.raw, p.localized);
      expect(changed.filter((ptr) => !allowed.some((re) => re.test(ptr)))).toEqual([]);
      // …and every listen entry keeps its kind.
      const kinds = (cfg: Record<string, unknown>) =>
        ((cfg.network as { listen: { kind?: string }[] }).listen ?? []).map((l) => l.kind);
      expect(kinds(p.localized)).toEqual(kinds(p.raw));
    },
  );
});

describe("config.dev.yaml", () => {
  it("validates strictly, converts, and kresd answers localhost A on its listener", async () => {
    const p = await prepare("dev");
    expect(p.config.workers).toBe(2);
    const kresd = await start(p);
    expectAnswer(await ask(p.ports[0] as number, "localhost", "A"), ["localhost. 900 A 127.0.0.1"]);
    await kresd.stop();
  });
});

describe("config.example.home.yaml: a home resolver with names for the devices at home", () => {
  let p: Prepared;
  let port: number;
  beforeAll(async () => {
    p = await prepare("home");
    port = p.ports[0] as number;
    await start(p);
  }, 60000);

  it("answers the router, NAS and printer addresses exactly, TTL 5m, NODATA for missing types", async () => {
    expectAnswer(await ask(port, "router.home.arpa", "A"), ["router.home.arpa. 300 A 192.168.1.1"]);
    expectNodata(await ask(port, "router.home.arpa", "AAAA"));
    expectAnswer(await ask(port, "nas.home.arpa", "A"), ["nas.home.arpa. 300 A 192.168.1.10"]);
    expectAnswer(await ask(port, "nas.home.arpa", "AAAA"), ["nas.home.arpa. 300 AAAA fd00::10"]);
    expectAnswer(await ask(port, "printer.home.arpa", "A"), ["printer.home.arpa. 300 A 192.168.1.20"]);
    expectNodata(await ask(port, "printer.home.arpa", "AAAA"));
  });

  it("answers the reverse (PTR) names of those addresses", async () => {
    expectAnswer(await ask(port, "1.1.168.192.in-addr.arpa", "PTR"), [
      "1.1.168.192.in-addr.arpa. 300 PTR router.home.arpa.",
    ]);
    expectAnswer(await ask(port, "20.1.168.192.in-addr.arpa", "PTR"), [
      "20.1.168.192.in-addr.arpa. 300 PTR printer.home.arpa.",
    ]);
    const nas6 = "0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.d.f.ip6.arpa";
    expectAnswer(await ask(port, nas6, "PTR"), [`${nas6}. 300 PTR nas.home.arpa.`]);
  });

  it("does not answer an undeclared name from local data", async () => {
    const r = await ask(port, "tv.home.arpa", "A", "+edns");
    expect(rrs(r)).toEqual([]);
    expect(r.authority.map((rr) => rr.data).filter((d) => LOCAL_DATA_SOA.test(d))).toEqual([]);
    // What kresd 5.6 answers for any name under home.arpa (a locally-served zone) without local
    // data: NXDOMAIN with Extended DNS Error 21 (Not Supported), "blocking is mandated by standards".
    expect({ rcode: r.rcode, ede: r.ede?.code }).toEqual({ rcode: "NXDOMAIN", ede: 21 });
  });

  it("views: the machine itself is allowed, over IPv4 and IPv6", async () => {
    expectAnswer(await from("127.0.0.1", port, "router.home.arpa", "A"), [
      "router.home.arpa. 300 A 192.168.1.1",
    ]);
    if (ipv6) {
      const r = await kdig(["-b", "::1", "@::1", "-p", String(port), "nas.home.arpa", "AAAA"]);
      expectAnswer(r, ["nas.home.arpa. 300 AAAA fd00::10"]);
    }
  });
});

describe("config.example.isp.yaml: several workers, DoT, views, RPZ, NSID", () => {
  let p: Prepared;
  let dnsPort: number;
  let dotPort: number;
  const workers: Kresd[] = [];
  beforeAll(async () => {
    p = await prepare("isp");
    [dnsPort, dotPort] = p.ports as [number, number];
    // Two workers of the same Lua on the same ports and rundir, as the manager runs them.
    workers.push(await start(p));
    workers.push(await start(p));
  }, 60000);

  it("is configured for several workers; two kresd share the listeners and both answer", async () => {
    expect(p.config.workers).toBeGreaterThan(1);
    expect(workers.map((w) => w.running)).toEqual([true, true]);
    expect(new Set(workers.map((w) => w.pid)).size).toBe(2);
    // Each query comes from a new source port, so SO_REUSEPORT spreads them over both workers.
    const answered = async (w: Kresd) => Number(await w.control("worker.stats().queries"));
    await waitFor(
      "both workers answering",
      async () => {
        expectNxdomain(await ask(dnsPort, "malware.example", "A"));
        const counts = await Promise.all(workers.map(answered));
        return counts.every((c) => c > 0) ? counts : undefined;
      },
      { timeoutMs: 30000, intervalMs: 0 },
    );
  });

  it("RPZ: malware.example (and below) is NXDOMAIN, phishing.example is NODATA", async () => {
    expectNxdomain(await ask(dnsPort, "malware.example", "A"));
    expectNxdomain(await ask(dnsPort, "www.malware.example", "AAAA"));
    expectNodata(await ask(dnsPort, "phishing.example", "A"));
  });

  it("views: 127.0.0.1 is a customer, 127.0.0.2 is refused", async () => {
    expectNxdomain(await from("127.0.0.1", dnsPort, "malware.example", "A"));
    expect((await from("127.0.0.2", dnsPort, "malware.example", "A")).rcode).toBe("REFUSED");
    expect((await from("127.0.0.2", dnsPort, "localhost", "A")).rcode).toBe("REFUSED");
  });

  it("returns its NSID", async () => {
    expect((await ask(dnsPort, "localhost", "A", "+nsid")).nsid).toBe("isp-resolver-1");
  });

  it("serves DNS over TLS on the DoT listener with the configured certificate", async () => {
    const tls = ["+tls", `+tls-ca=${p.tls?.cert}`, "+tls-hostname=localhost"];
    expectAnswer(await ask(dotPort, "localhost", "A", ...tls), ["localhost. 900 A 127.0.0.1"]);
    expectNxdomain(await ask(dotPort, "malware.example", "A", ...tls));
    // Plain DNS over TCP gets nothing there: the listener really is DoT.
    await expect(
      kdig(["@127.0.0.1", "-p", String(dotPort), "+tcp", "localhost", "A"], { timeoutS: 1 }),
    ).rejects.toThrow(KdigError);
  });
});

const CORP_ZONE = `
$TTL 300
@             SOA  ns hostmaster 1 3600 600 86400 300
@             NS   ns
ns            A    127.0.0.1
intranet-app  A    10.0.1.10
intranet-app  AAAA fd00::1:10
build         A    10.0.1.20
motd          TXT  "served by the corp.example authoritative server"
`;

describe("config.example.internal.yaml: forward zones, local data, rules, RPZ, DNS64, views", () => {
  let p: Prepared;
  let port: number;
  let knotd: Knotd;
  beforeAll(async () => {
    knotd = await startKnotd({ zones: { "corp.example": CORP_ZONE } });
    p = await prepare("internal", { forwardTo: `127.0.0.1@${knotd.port}` });
    port = p.ports[0] as number;
    await start(p);
  }, 60000);

  it("resolves the forwarded corp.example zone through the local knotd", async () => {
    expectCachedAnswer(await ask(port, "intranet-app.corp.example", "A"), [
      "intranet-app.corp.example. 300 A 10.0.1.10",
    ]);
    expectCachedAnswer(await ask(port, "intranet-app.corp.example", "AAAA"), [
      "intranet-app.corp.example. 300 AAAA fd00::1:10",
    ]);
    expectCachedAnswer(await ask(port, "motd.corp.example", "TXT"), [
      'motd.corp.example. 300 TXT "served by the corp.example authoritative server"',
    ]);
    expectNxdomain(await ask(port, "nothing-here.corp.example", "A"));
  });

  it("DNS64 synthesizes 64:ff9b::/96 AAAA for the forwarded A-only name", async () => {
    expectCachedAnswer(await ask(port, "build.corp.example", "A"), ["build.corp.example. 300 A 10.0.1.20"]);
    expectCachedAnswer(await ask(port, "build.corp.example", "AAAA"), [
      "build.corp.example. 300 AAAA 64:ff9b::a00:114",
    ]);
  });

  it("answers the hosts file entries from local data (TTL 1h), with PTR for the first name", async () => {
    expectAnswer(await ask(port, "intranet.corp.example", "A"), ["intranet.corp.example. 3600 A 10.0.0.80"]);
    expectAnswer(await ask(port, "intranet", "A"), ["intranet. 3600 A 10.0.0.80"]);
    expectAnswer(await ask(port, "mail.corp.example", "A"), ["mail.corp.example. 3600 A 10.0.0.25"]);
    expectAnswer(await ask(port, "mail.corp.example", "AAAA"), ["mail.corp.example. 3600 AAAA fd00::25"]);
    // The old-intranet rule's address is the same one, and a rule's address answers PTR too.
    expectAnswer(await ask(port, "80.0.0.10.in-addr.arpa", "PTR"), [
      "80.0.0.10.in-addr.arpa. 3600 PTR intranet.corp.example.",
      "80.0.0.10.in-addr.arpa. 3600 PTR old-intranet.example.",
    ]);
    expectAnswer(await ask(port, "25.0.0.10.in-addr.arpa", "PTR"), [
      "25.0.0.10.in-addr.arpa. 3600 PTR mail.corp.example.",
    ]);
  });

  it("answers the declared records: the wiki CNAME (followed) and the TXT", async () => {
    expectAnswer(await ask(port, "wiki.corp.example", "CNAME"), [
      "wiki.corp.example. 300 CNAME intranet.corp.example.",
    ]);
    expectAnswer(await ask(port, "wiki.corp.example", "A"), [
      "wiki.corp.example. 300 CNAME intranet.corp.example.",
      "intranet.corp.example. 3600 A 10.0.0.80",
    ]);
    expectAnswer(await ask(port, "corp.example", "TXT"), [
      'corp.example. 300 TXT "managed by the IT department"',
    ]);
  });

  it("rules: ads and tracker subtrees are NXDOMAIN, old-intranet redirects to 10.0.0.80", async () => {
    expectNxdomain(await ask(port, "ads.example", "A"));
    expectNxdomain(await ask(port, "banner.ads.example", "A"));
    expectNxdomain(await ask(port, "tracker.example", "A"));
    expectNxdomain(await ask(port, "sub.tracker.example", "A"));
    expectAnswer(await ask(port, "old-intranet.example", "A"), ["old-intranet.example. 3600 A 10.0.0.80"]);
    expectAnswer(await ask(port, "www.old-intranet.example", "A"), [
      "www.old-intranet.example. 3600 A 10.0.0.80",
    ]);
  });

  it("RPZ: malware.example is NXDOMAIN, phishing.example NODATA", async () => {
    expectNxdomain(await ask(port, "malware.example", "A"));
    expectNodata(await ask(port, "phishing.example", "A"));
  });

  it("views: 127.0.0.1 is allowed, 127.0.0.2 is refused", async () => {
    expectCachedAnswer(await from("127.0.0.1", port, "intranet-app.corp.example", "A"), [
      "intranet-app.corp.example. 300 A 10.0.1.10",
    ]);
    expect((await from("127.0.0.2", port, "intranet-app.corp.example", "A")).rcode).toBe("REFUSED");
    expect((await from("127.0.0.2", port, "intranet.corp.example", "A")).rcode).toBe("REFUSED");
  });
});
