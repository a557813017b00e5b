/**
 * Configs written from the examples and option lists of upstream Knot Resolver v6.4.2's user
 * documentation (doc/user/config-*.rst) for dnssec, dns64, defer, rate-limiting, monitoring,
 * logging, cache and lua: each validates here as upstream's v6.4.2 schema says (valid ones
 * accepted with the same meaning, or refused naming kresd 5.6), invalid ones refused. The docs'
 * few stale examples (keys upstream's own schema refuses) are refused here too.
 */
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { renderCache } from "../../../lib/datamodel/sections/cache/render.js";
import { renderDns64 } from "../../../lib/datamodel/sections/dns64/render.js";
import { renderDnssec } from "../../../lib/datamodel/sections/dnssec/render.js";
import { renderLogging } from "../../../lib/datamodel/sections/logging/render.js";
import { renderLua } from "../../../lib/datamodel/sections/lua/render.js";
import { renderMonitoring } from "../../../lib/datamodel/sections/monitoring/render.js";
import { renderWorkerLua } from "../../../lib/datamodel/worker-lua.js";
import { problemsOf, testRundir, validate } from "../../../harness/validation.js";

const rundir = testRundir("kres-upstream-docs-b-");
// Paths in the docs (/var/cache/knot-resolver, /tmp/dnstap.sock, root.key…) need not exist here.
const ok = (cfg: Record<string, unknown>): KresConfig => validate({ rundir, ...cfg }, { strict: false });
const refused = (cfg: Record<string, unknown>) => problemsOf({ rundir, ...cfg }, { strict: false });
const KRESD56 = expect.stringContaining("kresd 5.6");
const MIGRATE = expect.stringMatching(/Knot Resolver 6\.(x|0 spelling).*kresctl migrate/);

describe("upstream v6.4.2 docs, dnssec", () => {
  it("enable: false turns validation off", () => {
    expect(renderDnssec(ok({ dnssec: { enable: false } }))).toContain("trust_anchors.remove('.')");
  });

  it("trust-anchors-files, negative-trust-anchors and static trust-anchors", () => {
    const cfg = ok({
      dnssec: {
        "trust-anchors-files": [{ file: "root.key", "read-only": false }],
        "negative-trust-anchors": ["bad.boy", "example.com"],
        "trust-anchors": [". 3600 IN DS 19036 8 2 49AAC11..."],
      },
    });
    const lua = renderDnssec(cfg);
    expect(lua).toContain("trust_anchors.add_file(");
    expect(lua).toContain('trust_anchors.add(". 3600 IN DS 19036 8 2 49AAC11...")');
    expect(lua).toContain('trust_anchors.set_insecure({"bad.boy.", "example.com."})');
  });

  it("log-bogus (config-logging-bogus) loads bogus_log", () => {
    expect(renderDnssec(ok({ dnssec: { "log-bogus": true } }))).toContain('modules.load("bogus_log")');
  });

  it("the stale 6.0 keys still shown in config-ta-sentinel, -ta-signal-query and -time-skew-detection are refused, as upstream's schema refuses them", () => {
    for (const key of ["trust-anchor-sentinel", "trust-anchor-signal-query", "time-skew-detection"]) {
      expect(refused({ dnssec: { [key]: false } })).toEqual([
        { pointer: `/dnssec/${key}`, message: MIGRATE },
      ]);
    }
  });
});

describe("upstream v6.4.2 docs, dns64", () => {
  it("enable: true with the default prefix, another prefix, and reverse-ttl", () => {
    expect(renderDns64(ok({ dns64: { enable: true } }))).toContain('prefix = "64:ff9b::"');
    expect(renderDns64(ok({ dns64: { enable: true, prefix: "2001:db8::aabb:0:0/96" } }))).toContain(
      'prefix = "2001:db8::aabb:0:0"',
    );
    expect(
      renderDns64(ok({ dns64: { enable: true, prefix: "2001:db8:77ff::/96", "reverse-ttl": "300s" } })),
    ).toContain("rev_ttl = 300");
  });

  it("a view turning DNS64 off for a subnet, with DNS64 enabled", () => {
    const cfg = ok({
      views: [{ subnets: ["2001:db8:11::/48"], tags: ["t01"], options: { dns64: false } }],
      "local-data": { rules: [{ name: ["t01.example"], subtree: "empty", tags: ["t01"] }] },
      dns64: { enable: true },
    });
    expect(renderDns64(cfg)).toContain("modules.load('dns64')");
  });

  it("the docs' stale 'exclude' and 'dns64: true' are refused, as upstream's schema refuses them", () => {
    expect(
      refused({ dns64: { enable: true, prefix: "2001:db8:3::/96", exclude: ["2001:db8:888::/48"] } }),
    ).toEqual([{ pointer: "/dns64/exclude", message: "unknown key" }]);
    expect(refused({ dns64: true })).toEqual([{ pointer: "/dns64", message: MIGRATE }]);
  });

  it("a prefix without enable is off (the opposite-meaning trap of 6.0 configs)", () => {
    expect(renderDns64(ok({ dns64: { prefix: "2001:db8:77ff::/96" } }))).toBe("");
  });
});

describe("upstream v6.4.2 docs, defer and rate-limiting", () => {
  it("defer is off by default here (upstream: on) and enable: true is refused naming kresd 5.6", () => {
    expect(ok({}).defer.enable).toBe(false);
    expect(ok({ defer: { enable: false, "log-period": "1m" } }).defer.enable).toBe(false);
    expect(refused({ defer: { enable: true } })).toEqual([{ pointer: "/defer/enable", message: KRESD56 }]);
  });

  it("rate-limiting is off by default; enable: true with a rate-limit is refused naming kresd 5.6", () => {
    expect(ok({})["rate-limiting"].enable).toBe(false);
    expect(refused({ "rate-limiting": { enable: true, "rate-limit": 100, slip: 2 } })).toEqual([
      { pointer: "/rate-limiting/enable", message: KRESD56 },
    ]);
  });

  it("enable: true without rate-limit is refused as upstream refuses it", () => {
    expect(refused({ "rate-limiting": { enable: true } })).toContainEqual({
      pointer: "/rate-limiting/rate-limit",
      message: "'rate-limit' has to be configured to enable rate limiting",
    });
  });

  it("a rate-limit without enable is off (as upstream; in 6.0 the section meant on)", () => {
    const cfg = ok({ "rate-limiting": { "rate-limit": 100 } });
    expect(renderWorkerLua(cfg)).not.toMatch(/ratelimit/i);
  });
});

describe("upstream v6.4.2 docs, logging and monitoring", () => {
  it("debug groups with a global level", () => {
    const lua = renderLogging(ok({ logging: { groups: ["manager", "cache"], level: "info" } }));
    expect(lua).toContain('log_level("info")');
    expect(lua).toContain('log_groups({"cache"})');
  });

  it("dnstap with queries and responses (log-tcp-rtt off by default)", () => {
    const lua = renderLogging(
      ok({
        logging: {
          dnstap: {
            enable: true,
            "unix-socket": "/tmp/dnstap.sock",
            "log-queries": true,
            "log-responses": true,
          },
        },
      }),
    );
    expect(lua).toContain(
      'dnstap.config({socket_path = "/tmp/dnstap.sock", client = {log_queries = true, log_responses = true, log_tcp_rtt = false}})',
    );
  });

  it("metrics: always loads stats at start", () => {
    expect(renderMonitoring(ok({ monitoring: { metrics: "always" } }))).toMatch(/^modules\.load\("stats"\)/);
  });

  it("graphite with enable, host, port and interval", () => {
    const lua = renderMonitoring(
      ok({ monitoring: { graphite: { enable: true, host: "127.0.0.1", port: 200, interval: "5s" } } }),
    );
    expect(lua).toContain('graphite.config({host = "127.0.0.1", port = 200, interval = 5000, tcp = false})');
  });

  it("graphite or dnstap without enable is off (the opposite-meaning traps of 6.0 configs)", () => {
    const cfg = ok({
      monitoring: { graphite: { host: "127.0.0.1" } },
      logging: { dnstap: { "unix-socket": "/tmp/dnstap.sock" } },
    });
    expect(renderWorkerLua(cfg)).not.toMatch(/graphite|dnstap/);
  });
});

describe("upstream v6.4.2 docs, cache", () => {
  it("size, storage and TTL bounds", () => {
    expect(ok({ cache: { "size-max": "13453M" } }).cache["size-max"]).toBe("13453M");
    expect(ok({ cache: { storage: "/var/cache/knot-resolver", "size-max": "1G" } }).cache.storage).toBe(
      "/var/cache/knot-resolver",
    );
    const lua = renderCache(ok({ cache: { "ttl-max": "2d", "ttl-min": "20s" } }));
    expect(lua).toContain("cache.max_ttl(172800)");
    expect(lua).toContain("cache.min_ttl(20)");
  });

  it("prefetch of expiring records", () => {
    expect(renderCache(ok({ cache: { prefetch: { expiring: true } } }))).toContain(
      "predict.config({period = 0})",
    );
  });

  it("prediction alone is refused naming kresd 5.6 (its predict module always prefetches expiring records too); with expiring it works", () => {
    const prediction = { enable: true, window: "15m", period: 24 };
    expect(refused({ cache: { prefetch: { prediction } } })).toEqual([
      { pointer: "/cache/prefetch/expiring", message: KRESD56 },
    ]);
    expect(renderCache(ok({ cache: { prefetch: { expiring: true, prediction } } }))).toContain(
      "predict.config({window = 15, period = 24})",
    );
  });

  it("a prediction without enable is off", () => {
    expect(renderCache(ok({ cache: { prefetch: { prediction: { window: "15m" } } } }))).not.toContain(
      "predict",
    );
  });

  it("prefill of the root zone", () => {
    const lua = renderCache(
      ok({
        cache: {
          prefill: [
            {
              origin: ".",
              url: "https://www.internic.net/domain/root.zone",
              "refresh-interval": "12h",
              "ca-file": "/etc/pki/tls/certs/ca-bundle.crt",
            },
          ],
        },
      }),
    );
    expect(lua).toContain('interval = 43200, ca_file = "/etc/pki/tls/certs/ca-bundle.crt"');
  });

  it("garbage-collector with enable", () => {
    expect(ok({ cache: { "garbage-collector": { enable: false } } }).cache["garbage-collector"].enable).toBe(
      false,
    );
  });
});

describe("upstream v6.4.2 docs, lua", () => {
  it("a worker script, run verbatim after the generated configuration", () => {
    const script =
      "net.listen('127.0.0.1', 53, { kind = 'dns' })\nmodules = { 'stats', 'predict' }\ncache.size = 100 * MB\n";
    expect(renderLua(ok({ lua: { script } }))).toBe(script);
    expect(renderWorkerLua(ok({ lua: { "script-only": true, script } }))).toContain(script);
  });

  it("the policy-loader scripts are refused naming kresd 5.6 (it has no policy-loader)", () => {
    expect(refused({ lua: { "policy-script": "-- rules" } })).toEqual([
      { pointer: "/lua/policy-script", message: KRESD56 },
    ]);
  });

  it("null for an unset script, as upstream's schema allows", () => {
    expect(
      ok({ lua: { script: null, "script-file": null, "policy-script": null } }).lua.script,
    ).toBeUndefined();
  });
});

// The JSON Schema's property paths, these sections' included: upstream-schema.test.ts.
