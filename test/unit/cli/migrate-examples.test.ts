/**
 * `kresctl migrate` turns every configuration of the old (6.0.x) shape we have into one that
 * validates against today's (v6.4.2) schema, keeping what each meant: the files are this project's
 * own examples as they were before the v6.4 schema (test/fixtures/config-6.0/), and one that uses
 * every old spelling.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { migrateConfig } from "../../../lib/cli/config-migration.js";
import { ConfigValidationError, type Problem } from "../../../lib/datamodel/errors.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { REPO_ROOT } from "../../../harness/repo.js";

const dir = path.join(REPO_ROOT, "test/fixtures/config-6.0");
const files = fs.readdirSync(dir).filter((f) => f.endsWith(".yaml"));
const old = (file: string) =>
  yaml.load(fs.readFileSync(path.join(dir, file), "utf8")) as Record<string, unknown>;
// The old examples name data files beside them in etc/config/.
const context = { strict: false, baseDir: path.join(REPO_ROOT, "etc/config"), cpuCount: 4 };

/** Every problem validation finds ([] for a valid config). */
function problems(doc: unknown): Problem[] {
  try {
    validateConfig(doc, context);
    return [];
  } catch (e) {
    if (e instanceof ConfigValidationError) return e.problems;
    throw e;
  }
}

describe("kresctl migrate on configurations of the 6.0 shape", () => {
  it.each(files)("%s: valid once migrated", (file) => {
    expect(problems(migrateConfig(old(file)).config)).toEqual([]);
  });

  it("is needed: the old spellings are refused as they are, each named", () => {
    expect(problems(old("config.example.isp.yaml")).map((p) => p.pointer)).toEqual(
      expect.arrayContaining(["/max-workers", "/monitoring/enabled"]),
    );
    expect(problems(old("every-old-spelling.yaml")).length).toBeGreaterThanOrEqual(15);
  });

  it("keeps the meaning of a config that is valid either way: DNS64 with a prefix stays on", () => {
    // The old internal example: dns64 with a prefix meant on in 6.0, off without 'enable' today.
    expect(validateConfig(old("config.example.internal.yaml"), context).dns64.enable).toBe(false);
    const migrated = validateConfig(migrateConfig(old("config.example.internal.yaml")).config, context);
    expect(migrated.dns64.enable).toBe(true);
  });

  it("keeps what the old spellings meant: sections configured without 'enable' stay on", () => {
    const cfg = validateConfig(migrateConfig(old("every-old-spelling.yaml")).config, context);
    expect(cfg.dns64).toMatchObject({ enable: true, prefix: "64:ff9b::/96", "reverse-ttl": "1h" });
    expect(cfg.network["proxy-protocol"]).toMatchObject({
      enable: true,
      allow: ["127.0.0.1", "192.0.2.0/24"],
    });
    expect(cfg.monitoring).toMatchObject({ metrics: "lazy", graphite: { enable: true, host: "127.0.0.1" } });
    expect(cfg.dnssec).toMatchObject({
      enable: true,
      sentinel: false,
      "signal-query": true,
      "log-bogus": true,
    });
    expect(cfg.cache.prefetch.prediction).toMatchObject({ enable: true, window: "15m", period: 24 });
    expect(cfg.network.tls.watchdog).toBe(false);
    expect(cfg.defer.enable).toBe(false);
  });
});
