/**
 * Configs written from Knot Resolver v6.4.2's documentation (doc/user/) for the top level,
 * management, options, network, views, local-data, forward and fallback: each validates here as
 * upstream says (accepted, or refused naming "kresd 5.6" where the workers cannot do it), and the
 * 6.0 spellings are refused naming the new one and `kresctl migrate`.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { problemsOf, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kres-upstream-docs-");
fs.writeFileSync(path.join(tmp, "custom.hosts"), "192.0.2.9 custom.example\n");
// (File checks are off: the docs name files such as /tmp/blocklist.rpz that do not exist here.)
const ctx = { strict: false, baseDir: tmp, cpuCount: 4, hostname: "box" };

function parse(text: string): Record<string, unknown> {
  return { rundir, cache: { storage: rundir }, ...(yaml.load(text) as Record<string, unknown>) };
}
const accepted = (text: string) => validateConfig(parse(text), ctx);
const refused = (text: string) => problemsOf(parse(text), ctx);

describe("upstream v6.4.2 docs: accepted as written", () => {
  const examples: Record<string, string> = {
    "nsid (config-nsid)": "nsid: kres1",
    "workers (config-multiple-workers)": "workers: 4",
    "workers: auto (config-multiple-workers)": "workers: auto",
    "management over TCP (manager-api)": "management:\n  interface: 127.0.0.1@5000",
    "options (priming, rebinding, refuse-no-rd, serve-stale, time-jump, workarounds)": `
options:
  priming: false
  rebinding-protection: true
  refuse-no-rd: false
  serve-stale: true
  time-jump-detection: false
  violators-workarounds: true`,
    "edns-buffer-size (config-network-dns-tweaks)": `
network:
  edns-buffer-size:
    upstream: 4096B
    downstream: 1232B`,
    "typical listen examples (config-network-server)": `
network:
  listen:
    - interface: lo
    - interface: eth0
      kind: dot
    - interface: [ 127.0.0.1, '::1' ]
      kind: doh2`,
    "unusual listen examples, without the unix socket (config-network-server)": `
network:
  listen:
    - interface: '::1'
      port: 3535
    - interface: eth0
      port: 5335
      kind: xdp`,
    "PROXYv2 (config-network-server)": `
network:
  proxy-protocol:
    enable: true
    allow:
      - 172.22.0.1
      - 172.18.1.0/24
      - fe80::/10
      - '::/0'
      - 0.0.0.0/0`,
    "tcp-pipeline (config-network-server)": "network:\n  tcp-pipeline: 50",
    "TLS certificate (config-network-server-tls)": `
network:
  tls:
    cert-file: /etc/knot-resolver/server-cert.pem
    key-file: /etc/knot-resolver/server-key.pem`,
    "TLS watchdog (config-network-server-tls)": "network:\n  tls:\n    watchdog: false",
    "address renumbering (config-renumber)": `
network:
  address-renumbering:
    - source: 10.10.10.0/24
      destination: 192.168.1.0
    - source: 166.66.0.0/16
      destination: 127.0.0.0
    - source: 166.55.77.128/26
      destination: 127.0.0.192
    - source: 2001:db8::/32
      destination: '::1!'`,
    "views refusing all but some subnets (config-views)": `
views:
  - subnets: [ 0.0.0.0/0, "::/0" ]
    answer: refused
  - subnets: [ 10.0.10.0/24, 127.0.0.1, "::1" ]
    answer: allow`,
    "views with tags used by local-data (config-views, config-local-data)": `
views:
  - subnets: [ 2001:db8:1::/56 ]
    tags: [ malware, localnames ]
    options:
      dns64: false
local-data:
  rules:
    - name: [ evil.example.org, malware.example.net ]
      subtree: empty
      tags: [ malware ]
    - name: a3.example.com
      address: 2001:db8::3
      tags: [ localnames ]
      ttl: 10m`,
    "local data, typical use (config-local-data)": `
local-data:
  addresses:
    a1.example.com: 2001:db8::1
    a2.example.org: [ 192.0.2.2, 192.0.2.3, 2001:db8::4 ]
  addresses-files:
    - /etc/hosts
  records: |
    www.google.com.  CNAME  forcesafesearch.google.com.
  rpz:
    - file: /tmp/blocklist.rpz
  ttl: 5m
  nodata: false`,
    "local data rules (config-local-data)": `
views:
  - subnets: [ 192.0.2.0/24 ]
    tags: [ malware ]
local-data:
  rules:
    - name: a5.example
      subtree: redirect
      address: 2001:db8::5
    - file: custom.hosts
      tags: [ malware ]
      ttl: 20m
      nodata: false
    - records: |
        www.google.com.  CNAME  forcesafesearch.google.com.
      tags: [ malware ]`,
    "forwarding everything (config-forward)": `
forward:
  - subtree: .
    servers: [ 2001:148f:fffe::1, 193.17.47.1 ]`,
    "forwarding over TLS, and to an authoritative server (config-forward)": `
forward:
  - subtree: .
    servers:
      - address: [ 2001:148f:fffe::1, 193.17.47.1 ]
        transport: tls
        hostname: odvr.nic.cz
  - subtree: internal.example.com
    servers: [ 10.0.0.53 ]
    options:
      authoritative: true
      dnssec: false`,
    "getting started (gettingstarted-config)": `
network:
  listen:
    - interface:
        - 192.0.2.1
        - 2001:db8::1
    - interface: eth0
      port: 853
      kind: dot
forward:
  - subtree:
      - company.example
      - internal.example
    servers:
      - 192.0.2.44
    options:
      authoritative: true
      dnssec: false
views:
  - subnets: [ 0.0.0.0/0, "::/0" ]
    answer: refused
  - subnets: [ 192.0.2.0/24 ]
    answer: allow
local-data:
  rules:
    - name:
        - example.com.
        - blocked.example.net.
      subtree: nxdomain`,
    "fallback left off, with its servers (config-fallback)": `
fallback:
  enable: false
  servers:
    - address: [ 2001:148f:fffe::1, 193.17.47.1 ]
      transport: tls
      hostname: odvr.nic.cz`,
  };

  for (const [name, text] of Object.entries(examples)) {
    it(name, () => {
      const cfg = accepted(text);
      expect(renderWorkerLua(cfg)).toBeTruthy();
    });
  }
});

describe("upstream v6.4.2 docs: refused naming kresd 5.6 where the workers cannot do it", () => {
  const cases: [string, string, string][] = [
    [
      "DNS-over-QUIC listener",
      "network:\n  listen:\n    - interface: 127.0.0.1\n      kind: doq",
      "/network/listen/0/kind",
    ],
    [
      "DoH without TLS",
      "network:\n  listen:\n    - interface: 127.0.0.1\n      kind: doh2-insecure",
      "/network/listen/0/kind",
    ],
    ["DoQ tuning", "network:\n  quic:\n    max-streams: 64", "/network/quic/max-streams"],
    [
      "a unix socket listener",
      "network:\n  listen:\n    - unix-socket: /tmp/kres-socket",
      "/network/listen/0/unix-socket",
    ],
    [
      "fallback turned on (config-fallback)",
      "fallback:\n  enable: true\n  servers:\n    - address: [ 193.17.47.1 ]\n      transport: tls\n      hostname: odvr.nic.cz",
      "/fallback/enable",
    ],
    [
      "a view price factor",
      "views:\n  - subnets: [ 192.0.2.0/24 ]\n    answer: allow\n    options:\n      price-factor: 0",
      "/views/0/options/price-factor",
    ],
  ];
  for (const [name, text, pointer] of cases) {
    it(name, () => {
      expect(refused(text)).toEqual([{ pointer, message: expect.stringContaining("kresd 5.6") }]);
    });
  }
});

describe("upstream v6.4.2: invalid configs are refused here too", () => {
  it("tags that no local-data rule uses (the config-views example alone)", () => {
    const found = refused("views:\n  - subnets: [ 2001:db8:1::/56 ]\n    tags: [ malware, localnames ]");
    expect(found).toEqual([{ pointer: "/views", message: expect.stringContaining("unused tags") }]);
  });

  it("edns-tcp-keepalive under options (config-edns-keepalive; it belongs to network)", () => {
    expect(refused("options:\n  edns-tcp-keepalive: false")).toEqual([
      { pointer: "/options/edns-tcp-keepalive", message: "unknown key" },
    ]);
  });

  it("a view price factor above 65535", () => {
    const found = refused(
      "views:\n  - subnets: [ 192.0.2.0/24 ]\n    answer: allow\n    options:\n      price-factor: 65536",
    );
    expect(found).toContainEqual({
      pointer: "/views/0/options/price-factor",
      message: "must be at most 65535",
    });
  });

  it("a domain name with a label starting with '-'", () => {
    expect(refused("forward:\n  - subtree: -bad.example\n    servers: [ 192.0.2.1 ]")).toEqual([
      { pointer: "/forward/0/subtree", message: "'-bad.example' is not a valid domain name" },
    ]);
  });
});

describe("the opposite-meaning trap", () => {
  it("proxy-protocol with only 'allow' is off, as upstream 6.1+ (on in 6.0)", () => {
    const cfg = accepted("network:\n  proxy-protocol:\n    allow: [ 172.22.0.1 ]");
    expect(cfg.network["proxy-protocol"].enable).toBe(false);
    expect(renderWorkerLua(cfg)).not.toContain("proxy_allowed");
  });
});

describe("6.0 spellings: refused naming the new spelling and kresctl migrate", () => {
  const cases: [string, string, string, RegExp][] = [
    ["max-workers", "max-workers: 8", "/max-workers", /^removed in Knot Resolver 6\.x/],
    ["webmgmt", "webmgmt:\n  interface: 127.0.0.1@8453", "/webmgmt", /^removed in Knot Resolver 6\.x/],
    [
      "network/tls/files-watchdog",
      "network:\n  tls:\n    files-watchdog: false",
      "/network/tls/files-watchdog",
      /^renamed to 'network\/tls\/watchdog'/,
    ],
    [
      "network/tls/auto-discovery",
      "network:\n  tls:\n    auto-discovery: true",
      "/network/tls/auto-discovery",
      /^removed in Knot Resolver 6\.x/,
    ],
    [
      "proxy-protocol: false",
      "network:\n  proxy-protocol: false",
      "/network/proxy-protocol",
      /proxy-protocol: \{enable: false\}/,
    ],
    [
      "local-data/root-fallback-addresses",
      "local-data:\n  root-fallback-addresses:\n    a.root-servers.net.: 198.41.0.4",
      "/local-data/root-fallback-addresses",
      /^removed in Knot Resolver 6\.x/,
    ],
    [
      "local-data/root-fallback-addresses-files",
      "local-data:\n  root-fallback-addresses-files: [ /etc/hosts ]",
      "/local-data/root-fallback-addresses-files",
      /^removed in Knot Resolver 6\.x/,
    ],
  ];
  for (const [name, text, pointer, message] of cases) {
    it(name, () => {
      const found = refused(text);
      expect(found).toEqual([{ pointer, message: expect.stringMatching(message) }]);
      expect(found[0]?.message).toContain("kresctl migrate");
    });
  }
});
