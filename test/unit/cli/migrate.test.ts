/**
 * kresctl migrate: a configuration written for Knot Resolver 6.0.x in, the shape of 6.0.17 and
 * later (6.4) out, as upstream's `kresctl migrate` (v6.4.2) writes it. Each pair is an old
 * configuration and the migrated one; where upstream's output would mean something else than the
 * input did, the meaning is kept (the second table notes what upstream writes).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { migrateConfig } from "../../../lib/cli/config-migration.js";
import { kresctl } from "./fake-manager.js";

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "krm-unit-migrate-"));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, text);
  return p;
}

type Pair = [what: string, old: Record<string, unknown>, migrated: Record<string, unknown>];

/** Upstream's rules, with the very output upstream's migrate gives for the same input. */
const UPSTREAM: Pair[] = [
  [
    "drops the keys 6.0.17 removed",
    {
      workers: 4,
      "max-workers": 8,
      webmgmt: { interface: "127.0.0.1@5000" },
      logging: { level: "info", debugging: { "assertion-abort": true } },
      network: { tls: { "auto-discovery": true, "cert-file": "/etc/tls/cert.pem" } },
      dnssec: {
        "refresh-time": "10m",
        "hold-down-time": "30d",
        "time-skew-detection": false,
        "keep-removed": 2,
        "negative-trust-anchors": ["bad.example."],
      },
    },
    {
      workers: 4,
      logging: { level: "info" },
      network: { tls: { "cert-file": "/etc/tls/cert.pem" } },
      dnssec: { "negative-trust-anchors": ["bad.example."] },
    },
  ],
  [
    "drops the root-fallback addresses, and the section they leave empty",
    {
      workers: 2,
      "local-data": {
        "root-fallback-addresses": { "a.root-servers.net.": ["198.41.0.4"] },
        "root-fallback-addresses-files": ["root.hints"],
      },
    },
    { workers: 2 },
  ],
  ["dnssec: false becomes dnssec/enable: false", { dnssec: false }, { dnssec: { enable: false } }],
  [
    "a dnssec section stays on without an explicit enable (on by default, then and now)",
    { dnssec: { "trust-anchor-sentinel": true, "trust-anchor-signal-query": true } },
    { dnssec: { sentinel: true, "signal-query": true } },
  ],
  [
    "logging/dnssec-bogus moves to dnssec/log-bogus",
    { logging: { level: "info", "dnssec-bogus": true } },
    { logging: { level: "info" }, dnssec: { "log-bogus": true } },
  ],
  [
    "logging/dnssec-bogus joins a disabled dnssec",
    { dnssec: false, logging: { "dnssec-bogus": true } },
    { dnssec: { enable: false, "log-bogus": true } },
  ],
  ["dns64: true becomes dns64/enable: true", { dns64: true }, { dns64: { enable: true } }],
  ["dns64: false becomes dns64/enable: false", { dns64: false }, { dns64: { enable: false } }],
  [
    "a dns64 section gets enable: true (it was on by being there), rev-ttl is reverse-ttl",
    { dns64: { prefix: "64:ff9b::/96", "rev-ttl": "1h" } },
    { dns64: { prefix: "64:ff9b::/96", enable: true, "reverse-ttl": "1h" } },
  ],
  [
    "cache/garbage-collector: false becomes enable: false",
    { cache: { "garbage-collector": false } },
    { cache: { "garbage-collector": { enable: false } } },
  ],
  [
    "a cache/garbage-collector section gets enable: true",
    { cache: { "garbage-collector": { interval: "2s" } } },
    { cache: { "garbage-collector": { interval: "2s", enable: true } } },
  ],
  [
    "cache/prefetch/prediction: null (no prediction) becomes enable: false",
    { cache: { prefetch: { expiring: true, prediction: null } } },
    { cache: { prefetch: { expiring: true, prediction: { enable: false } } } },
  ],
  [
    "a cache/prefetch/prediction section gets enable: true",
    { cache: { prefetch: { prediction: { window: "10m", period: 48 } } } },
    { cache: { prefetch: { prediction: { window: "10m", period: 48, enable: true } } } },
  ],
  ["defer/enabled is defer/enable", { defer: { enabled: true } }, { defer: { enable: true } }],
  [
    "monitoring/enabled is monitoring/metrics; a graphite section gets enable: true",
    { monitoring: { enabled: "always", graphite: { host: "127.0.0.1" } } },
    { monitoring: { metrics: "always", graphite: { host: "127.0.0.1", enable: true } } },
  ],
  [
    "monitoring/graphite: false becomes enable: false",
    { monitoring: { graphite: false } },
    { monitoring: { graphite: { enable: false } } },
  ],
  [
    "a network/proxy-protocol section gets enable: true",
    { network: { "proxy-protocol": { allow: ["172.22.0.1"] } } },
    { network: { "proxy-protocol": { allow: ["172.22.0.1"], enable: true } } },
  ],
  [
    "network/tls/files-watchdog is network/tls/watchdog",
    { network: { tls: { "files-watchdog": true } } },
    { network: { tls: { watchdog: true } } },
  ],
  [
    "a rate-limiting section gets enable: true",
    { "rate-limiting": { "rate-limit": 100 } },
    { "rate-limiting": { "rate-limit": 100, enable: true } },
  ],
  ["top-level sections left empty go", { lua: {}, workers: 2 }, { workers: 2 }],
];

/** Where upstream's output would change the meaning: what this migrate writes, and why. */
const MEANING_KEPT: Pair[] = [
  [
    "a renamed key keeps a false value (upstream drops it: sentinel and signal-query back on)",
    { dnssec: { "trust-anchor-sentinel": false, "trust-anchor-signal-query": false } },
    { dnssec: { sentinel: false, "signal-query": false } },
  ],
  [
    "defer/enabled: false stays off (upstream drops it, and defer is on by default since 6.1)",
    { defer: { enabled: false } },
    { defer: { enable: false } },
  ],
  [
    "network/tls/files-watchdog: false stays off (upstream drops it: the default is auto)",
    { network: { tls: { "files-watchdog": false } } },
    { network: { tls: { watchdog: false } } },
  ],
  [
    "logging/dnstap: false stays off (upstream turns it on)",
    { logging: { dnstap: false } },
    { logging: { dnstap: { enable: false } } },
  ],
  [
    "network/proxy-protocol: false stays off (upstream turns it on)",
    { network: { "proxy-protocol": false } },
    { network: { "proxy-protocol": { enable: false } } },
  ],
  [
    "a 6.0 dnstap section keeps its 6.0 defaults, which 6.0.17 turned to false (upstream adds only enable)",
    { logging: { dnstap: { "unix-socket": "/tmp/dnstap.sock", "log-queries": false } } },
    {
      logging: {
        dnstap: {
          "unix-socket": "/tmp/dnstap.sock",
          "log-queries": false,
          enable: true,
          "log-responses": true,
          "log-tcp-rtt": true,
        },
      },
    },
  ],
  ["rate-limiting: null stays off (upstream turns it on)", { "rate-limiting": null }, {}],
  [
    "dnssec: true becomes enable: true (upstream leaves true, which 6.4 refuses)",
    { dnssec: true },
    { dnssec: { enable: true } },
  ],
  [
    "an enable already there is kept: migrating a 6.4 config changes nothing (upstream turns dns64 on)",
    { dns64: { enable: false, prefix: "64:ff9b::/96" } },
    { dns64: { enable: false, prefix: "64:ff9b::/96" } },
  ],
];

describe("migrateConfig: upstream's rules", () => {
  it.each(UPSTREAM)("%s", (_what, old, migrated) => {
    expect(migrateConfig(old).config).toEqual(migrated);
  });

  it("writes enable where upstream does (last), so the YAML reads the same", () => {
    expect(Object.keys(migrateConfig({ dns64: { prefix: "64:ff9b::/96" } }).config.dns64 as object)).toEqual([
      "prefix",
      "enable",
    ]);
  });
});

describe("migrateConfig: the meaning kept where upstream's output would change it", () => {
  it.each(MEANING_KEPT)("%s", (_what, old, migrated) => {
    expect(migrateConfig(old).config).toEqual(migrated);
  });
});

describe("migrateConfig", () => {
  it("moves 6.0.0–6.0.7 cache/prediction to cache/prefetch (the predict module also refreshed expiring records)", () => {
    const on = migrateConfig({ cache: { prediction: true } });
    expect(on.config).toEqual({ cache: { prefetch: { expiring: true, prediction: { enable: true } } } });
    expect(on.changes).toEqual([
      "moved /cache/prediction to /cache/prefetch/prediction with /cache/prefetch/expiring: true",
    ]);
    expect(migrateConfig({ cache: { prediction: { window: "10m", period: 48 } } }).config).toEqual({
      cache: { prefetch: { expiring: true, prediction: { window: "10m", period: 48, enable: true } } },
    });
    expect(migrateConfig({ workers: 1, cache: { prediction: false } }).config).toEqual({ workers: 1 });
  });

  it("says what it changed, one line each", () => {
    const { changes } = migrateConfig({
      "max-workers": 8,
      dns64: true,
      dnssec: { "trust-anchor-sentinel": false },
      monitoring: { graphite: { host: "127.0.0.1" } },
      webmgmt: {},
    });
    expect(changes).toEqual([
      "removed /max-workers (no longer in the configuration since 6.0.17)",
      "removed /webmgmt (no longer in the configuration since 6.0.17)",
      "replaced /dns64: true by /dns64/enable: true",
      "renamed /dnssec/trust-anchor-sentinel to /dnssec/sentinel",
      "added /monitoring/graphite/enable: true (the section being there turned it on)",
    ]);
  });

  it("keeps an old key whose new name is set too, for validation to name both", () => {
    const both = { dns64: { enable: true, "rev-ttl": "1h", "reverse-ttl": "2h" } };
    const { config, changes } = migrateConfig(both);
    expect(config).toEqual(both);
    expect(changes).toEqual(["kept /dns64/rev-ttl: /dns64/reverse-ttl, its new name, cannot take its value"]);
  });

  it("changes nothing the second time, and leaves its input alone", () => {
    for (const [, old] of [...UPSTREAM, ...MEANING_KEPT]) {
      const before = structuredClone(old);
      const once = migrateConfig(old).config;
      expect(old).toEqual(before);
      expect(migrateConfig(once)).toEqual({ config: once, changes: [] });
    }
  });

  it("leaves a configuration of the 6.4 shape unchanged", () => {
    const current = {
      workers: 2,
      dnssec: { enable: true, sentinel: false, "log-bogus": true },
      dns64: { enable: true, prefix: "64:ff9b::/96", "reverse-ttl": "1h" },
      cache: { prefetch: { expiring: true, prediction: { enable: false } } },
      monitoring: { metrics: "lazy", graphite: { enable: false } },
      network: { tls: { watchdog: false }, "proxy-protocol": { enable: false } },
      logging: { dnstap: { enable: true, "unix-socket": "/tmp/t.sock" } },
      defer: { enable: false },
    };
    expect(migrateConfig(current)).toEqual({ config: current, changes: [] });
  });
});

describe("kresctl migrate", () => {
  const OLD = "workers: 2\ndns64: true\nnetwork:\n  tls:\n    files-watchdog: false\n";

  it("prints the migrated configuration alone as YAML on stdout, the changes on stderr", async () => {
    const r = await kresctl(["migrate", file("old.yaml", OLD)]);
    expect(r.out).toBe("workers: 2\ndns64:\n  enable: true\nnetwork:\n  tls:\n    watchdog: false\n");
    // Validating the result is another matter (below): the changes come first.
    expect(r.err).toMatch(
      new RegExp(
        "^kresctl: migrate: replaced /dns64: true by /dns64/enable: true\n" +
          "kresctl: migrate: renamed /network/tls/files-watchdog to /network/tls/watchdog\n",
      ),
    );
  });

  it("exits 0 when the result validates", async () => {
    expect(await kresctl(["migrate", file("max.yaml", "workers: 2\nmax-workers: 8\n")])).toEqual({
      code: 0,
      out: "workers: 2\n",
      err: "kresctl: migrate: removed /max-workers (no longer in the configuration since 6.0.17)\n",
    });
  });

  it("writes JSON with --json, to OUTPUT when given, reading standard input for -", async () => {
    const out = path.join(dir, "new.json");
    const r = await kresctl(["migrate", "--json", "-", out], { stdin: OLD });
    expect(r.out).toBe("");
    expect(JSON.parse(fs.readFileSync(out, "utf8"))).toEqual({
      workers: 2,
      dns64: { enable: true },
      network: { tls: { watchdog: false } },
    });
  });

  it("says when there is nothing to change", async () => {
    const f = file("current.yaml", "workers: 1\n");
    expect(await kresctl(["migrate", f])).toEqual({
      code: 0,
      out: "workers: 1\n",
      err: `kresctl: migrate: ${f}: nothing to change\n`,
    });
  });

  it("writes a result that is still invalid, then lists its problems and exits 1", async () => {
    const f = file("still-bad.yaml", "workers: 0\nmax-workers: 8\n");
    const r = await kresctl(["migrate", f]);
    expect(r.code).toBe(1);
    expect(yaml.load(r.out)).toMatchObject({ workers: 0 });
    expect(r.err).toContain(
      `kresctl: ${f}: after migration, configuration is invalid (1 problem):\n  /workers: `,
    );
  });

  it("refuses unreadable and unparsable input in one line", async () => {
    expect(await kresctl(["migrate", path.join(dir, "none.yaml")])).toEqual({
      code: 1,
      out: "",
      err: `kresctl: ${path.join(dir, "none.yaml")}: cannot read: ENOENT\n`,
    });
    const r = await kresctl(["migrate", file("list.yaml", "- 1\n")]);
    expect(r.err).toBe(
      `kresctl: ${path.join(dir, "list.yaml")}: expected a configuration (a mapping of keys)\n`,
    );
  });
});
