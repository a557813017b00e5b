/** kresctl migrate: configurations written for other Knot Resolver 6 releases, rewritten for this schema. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { migrateConfig } from "../../../lib/cli/config-migration.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
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

const validates = (config: unknown) => () => validateConfig(config, { strict: false });

describe("migrateConfig", () => {
  it("moves 6.0.0–6.0.7 cache/prediction to cache/prefetch (the predict module also refreshed expiring records)", () => {
    const on = migrateConfig({ cache: { prediction: true } });
    expect(on.config).toEqual({ cache: { prefetch: { expiring: true, prediction: {} } } });
    expect(on.changes).toEqual([
      "moved /cache/prediction to /cache/prefetch/prediction with /cache/prefetch/expiring: true",
    ]);
    expect(validates(on.config)).not.toThrow();
    const tuned = migrateConfig({ cache: { prediction: { window: "10m", period: 48 } } });
    expect(tuned.config).toEqual({
      cache: { prefetch: { expiring: true, prediction: { window: "10m", period: 48 } } },
    });
    expect(migrateConfig({ cache: { prediction: false } }).config).toEqual({ cache: {} });
  });

  it("renames network/tls/watchdog (some 6.0 releases, and 6.0.17+) to files-watchdog", () => {
    expect(migrateConfig({ network: { tls: { watchdog: false } } }).config).toEqual({
      network: { tls: { "files-watchdog": false } },
    });
  });

  it("maps a configuration written for 6.0.17 and later back onto this schema", () => {
    const newer = {
      dnssec: {
        enable: true,
        sentinel: false,
        "signal-query": false,
        "trust-anchors-keep-removed": 2,
        "log-bogus": true,
      },
      dns64: { enable: true, "reverse-ttl": "1h" },
      cache: {
        "garbage-collector": { enable: true, interval: "2s" },
        prefetch: { expiring: true, prediction: { enable: true, period: 12 } },
      },
      monitoring: { metrics: "always", graphite: { enable: false } },
      network: { tls: { watchdog: false }, "proxy-protocol": { enable: false } },
      "rate-limiting": { enable: false, "rate-limit": 100 },
      defer: { enable: false },
      logging: { dnstap: { enable: false } },
    };
    const { config, changes } = migrateConfig(newer);
    expect(config).toEqual({
      dnssec: { "trust-anchor-sentinel": false, "trust-anchor-signal-query": false, "keep-removed": 2 },
      dns64: { "rev-ttl": "1h" },
      cache: {
        "garbage-collector": { interval: "2s" },
        prefetch: { expiring: true, prediction: { period: 12 } },
      },
      monitoring: { enabled: "always", graphite: false },
      network: { tls: { "files-watchdog": false }, "proxy-protocol": false },
      defer: { enabled: false },
      logging: { "dnssec-bogus": true, dnstap: false },
    });
    expect(changes).toContain("renamed /dnssec/log-bogus to /logging/dnssec-bogus");
    expect(changes).toContain(
      "replaced /rate-limiting/enable: false by no /rate-limiting (its other settings dropped)",
    );
    expect(validates(config)).not.toThrow();
    expect(newer.dnssec.enable).toBe(true); // the input is left alone
  });

  it("turns off sections whose enable is false, and keeps an enabled dnstap's 6.0.17 defaults", () => {
    expect(migrateConfig({ dnssec: { enable: false, sentinel: true } }).config).toEqual({ dnssec: false });
    expect(
      migrateConfig({
        logging: { dnstap: { enable: true, "unix-socket": "/tmp/t.sock", "log-queries": true } },
      }).config,
    ).toEqual({
      logging: {
        dnstap: {
          "unix-socket": "/tmp/t.sock",
          "log-queries": true,
          "log-responses": false,
          "log-tcp-rtt": false,
        },
      },
    });
  });

  it("leaves a configuration of this schema unchanged", () => {
    const current = {
      workers: 2,
      dnssec: { "trust-anchor-sentinel": false },
      dns64: true,
      cache: { prefetch: { expiring: true } },
      monitoring: { enabled: "lazy" },
    };
    expect(migrateConfig(current)).toEqual({ config: current, changes: [] });
  });
});

describe("kresctl migrate", () => {
  const OLD = "workers: 2\ncache:\n  prediction: true\nnetwork:\n  tls:\n    watchdog: false\n";

  it("prints the migrated configuration alone as YAML on stdout, the changes on stderr", async () => {
    const r = await kresctl(["migrate", file("old.yaml", OLD)]);
    expect(r.code).toBe(0);
    expect(yaml.load(r.out)).toEqual({
      workers: 2,
      cache: { prefetch: { expiring: true, prediction: {} } },
      network: { tls: { "files-watchdog": false } },
    });
    expect(r.err).toBe(
      "kresctl: migrate: moved /cache/prediction to /cache/prefetch/prediction with /cache/prefetch/expiring: true\n" +
        "kresctl: migrate: renamed /network/tls/watchdog to /network/tls/files-watchdog\n",
    );
  });

  it("writes JSON with --json, to OUTPUT when given, reading standard input for -", async () => {
    const out = path.join(dir, "new.json");
    const r = await kresctl(["migrate", "--json", "-", out], { stdin: OLD });
    expect(r).toMatchObject({ code: 0, out: "" });
    expect(JSON.parse(fs.readFileSync(out, "utf8"))).toMatchObject({
      cache: { prefetch: { expiring: true } },
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
    const f = file("still-bad.yaml", "workers: 0\ncache:\n  prediction: true\n");
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
