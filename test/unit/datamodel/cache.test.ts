import * as fs from "node:fs";
import * as path from "node:path";
import { cacheGcEnabled } from "../../../lib/controller/cache-gc.js";
import { DEFAULT_CACHE_DIR } from "../../../lib/datamodel/sections/cache/schema.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { renderCache } from "../../../lib/datamodel/sections/cache/render.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kres-cache-");
const storage = path.join(tmp, "cache");
const caFile = path.join(tmp, "ca.pem");
fs.mkdirSync(storage);
fs.writeFileSync(caFile, "");

const { valid, problems } = section("cache", { rundir, defaults: { storage } });

describe("cache schema", () => {
  it("fills upstream defaults", () => {
    expect(valid({}).cache).toEqual({
      storage,
      "size-max": "100M",
      "garbage-collector": {
        enable: true,
        interval: "1s",
        threshold: 80,
        release: 10,
        "temp-keys-space": "0M",
        "rw-deletes": 100,
        "rw-reads": 200,
        "rw-duration": "0us",
        "rw-delay": "0us",
        "dry-run": false,
      },
      "ttl-min": "5s",
      "ttl-max": "1d",
      "ns-timeout": "1000ms",
      prefetch: { expiring: false, prediction: { enable: false, window: "15m", period: 24 } },
    });
  });

  it("stores the cache in /var/cache/knot-resolver by default", () => {
    const cfg = validateConfig({ rundir }, { strict: false });
    expect(cfg.cache.storage).toBe(DEFAULT_CACHE_DIR);
  });

  it("resolves a relative storage against the config file's directory", () => {
    const cfg = validateConfig({ rundir, cache: { storage: "cache" } }, { baseDir: tmp });
    expect(cfg.cache.storage).toBe(storage);
  });

  it("refuses a storage directory that does not exist, in strict mode", () => {
    expect(problems({ storage: path.join(tmp, "missing") })).toEqual([
      { pointer: "/cache/storage", message: expect.stringContaining("is not an existing directory") },
    ]);
  });

  it("refuses unknown keys with a pointer to them", () => {
    expect(problems({ size: "10M" })).toEqual([{ pointer: "/cache/size", message: "unknown key" }]);
  });

  it("refuses a malformed size-max", () => {
    expect(problems({ "size-max": "100MB" })).toEqual([
      { pointer: "/cache/size-max", message: expect.stringContaining("expected a size") },
    ]);
  });

  it("refuses a cache smaller than the 8K kresd 5.6 accepts", () => {
    expect(valid({ "size-max": "8K" }).cache["size-max"]).toBe("8K");
    expect(problems({ "size-max": "8191B" })).toEqual([
      {
        pointer: "/cache/size-max",
        message: expect.stringMatching(/^not supported by kresd 5\.6: the cache size must be between 8K/),
      },
    ]);
  });

  it("refuses a ttl-max smaller than ttl-min, counted in whole seconds, as upstream", () => {
    expect(problems({ "ttl-min": "1h", "ttl-max": "30m" })).toEqual([
      {
        pointer: "/cache/ttl-max",
        message: "'ttl-max' (30m) can't be smaller than 'ttl-min' (1h), counted in whole seconds",
      },
    ]);
    expect(problems({ "ttl-min": "2s", "ttl-max": "1500ms" })[0]?.pointer).toBe("/cache/ttl-max");
    expect(valid({ "ttl-min": "10s", "ttl-max": "10s" }).cache["ttl-max"]).toBe("10s");
    expect(valid({ "ttl-min": "1s", "ttl-max": "1500ms" }).cache["ttl-max"]).toBe("1500ms");
    expect(valid({ "ttl-min": "0s", "ttl-max": "1s" }).cache["ttl-max"]).toBe("1s");
  });

  it("refuses a ttl-max under one second, which kresd 5.6's cache.max_ttl() refuses", () => {
    expect(problems({ "ttl-min": "0s", "ttl-max": "0s" })).toEqual([
      {
        pointer: "/cache/ttl-max",
        message: "not supported by kresd 5.6: its cache.max_ttl() takes at least 1 second, got '0s'",
      },
    ]);
  });

  it("refuses TTLs beyond kresd 5.6's 31-bit range", () => {
    expect(valid({ "ttl-max": "2147483647s" }).cache["ttl-max"]).toBe("2147483647s");
    expect(problems({ "ttl-max": "2147483648s" })).toEqual([
      {
        pointer: "/cache/ttl-max",
        message: "not supported by kresd 5.6: TTLs are limited to 2147483647 seconds, got '2147483648s'",
      },
    ]);
  });

  it("refuses an ns-timeout below 1ms", () => {
    expect(problems({ "ns-timeout": "500us" })).toEqual([
      {
        pointer: "/cache/ns-timeout",
        message: expect.stringMatching(/^not supported by kresd 5\.6: ns-timeout must be between 1ms and/),
      },
    ]);
  });
});

describe("cache schema with several problems", () => {
  it("reports each of them without tripping over values of the wrong type", () => {
    const found = problems({ "size-max": 5, "ttl-max": "1x", prefill: "x", prefetch: { prediction: "y" } });
    expect(found.map((p) => p.pointer)).toEqual([
      "/cache/size-max",
      "/cache/ttl-max",
      "/cache/prefill",
      "/cache/prefetch/prediction",
    ]);
  });
});

describe("cache.garbage-collector", () => {
  it("is switched off with enable: false", () => {
    expect(cacheGcEnabled(valid({ "garbage-collector": { enable: false } }))).toBe(false);
    expect(cacheGcEnabled(valid({}))).toBe(true);
  });

  it("refuses the 6.0.x 'garbage-collector: false', naming the 6.4 spelling and kresctl migrate", () => {
    expect(problems({ "garbage-collector": false })).toEqual([
      {
        pointer: "/cache/garbage-collector",
        message:
          "expected an object; 'garbage-collector: false' is the Knot Resolver 6.0 spelling of 'garbage-collector: {enable: false}'; 'kresctl migrate' rewrites a 6.0 configuration into the current shape",
      },
    ]);
    expect(problems({ "garbage-collector": "x" })).toEqual([
      { pointer: "/cache/garbage-collector", message: "expected an object of garbage-collector settings" },
    ]);
  });

  it("points into the object for bad settings", () => {
    expect(problems({ "garbage-collector": { threshold: 101 } })).toEqual([
      { pointer: "/cache/garbage-collector/threshold", message: "must be at most 100" },
    ]);
    expect(problems({ "garbage-collector": { "rw-items": 5 } })).toEqual([
      { pointer: "/cache/garbage-collector/rw-items", message: "unknown key" },
    ]);
    expect(problems({ "garbage-collector": { interval: "99999999999999999d" } })).toEqual([
      {
        pointer: "/cache/garbage-collector/interval",
        message: "'99999999999999999d' is too large for kres-cache-gc",
      },
    ]);
  });
});

describe("cache.prefill", () => {
  const root = { origin: ".", url: "https://www.internic.net/domain/root.zone" };

  it("takes a root zone entry with upstream defaults", () => {
    expect(valid({ prefill: [root] }).cache.prefill).toEqual([{ ...root, "refresh-interval": "1d" }]);
  });

  it("refuses other zones than the root", () => {
    expect(problems({ prefill: [{ ...root, origin: "example.com" }] })).toEqual([
      {
        pointer: "/cache/prefill/0/origin",
        message: "cache prefilling supports only the root zone '.', got 'example.com'",
      },
    ]);
  });

  it("refuses what kresd 5.6's prefill module refuses: non-HTTPS URLs and intervals under 1h", () => {
    expect(
      problems({ prefill: [{ ...root, url: "http://x/root.zone", "refresh-interval": "59m" }] }),
    ).toEqual([
      {
        pointer: "/cache/prefill/0/url",
        message: expect.stringMatching(
          /^not supported by kresd 5\.6: .*'https:\/\/'.*'http:\/\/x\/root\.zone'/,
        ),
      },
      {
        pointer: "/cache/prefill/0/refresh-interval",
        message:
          "not supported by kresd 5.6: the prefill module refuses refresh intervals shorter than 1h, got '59m'",
      },
    ]);
  });

  it("refuses a second entry for the same zone", () => {
    expect(problems({ prefill: [root, root] })).toEqual([
      {
        pointer: "/cache/prefill/1/origin",
        message: "not supported by kresd 5.6: only one prefill entry per zone, '.' is already configured",
      },
    ]);
  });

  it("checks that the CA file is readable, and requires origin and url", () => {
    expect(valid({ prefill: [{ ...root, "ca-file": caFile }] }).cache.prefill?.[0]?.["ca-file"]).toBe(caFile);
    expect(problems({ prefill: [{ ...root, "ca-file": path.join(tmp, "nope.pem") }] })).toEqual([
      { pointer: "/cache/prefill/0/ca-file", message: expect.stringContaining("does not exist") },
    ]);
    expect(problems({ prefill: [{}] }).map((p) => p.pointer)).toEqual([
      "/cache/prefill/0/origin",
      "/cache/prefill/0/url",
    ]);
  });
});

describe("cache.prefetch", () => {
  it("takes prediction with enable and upstream defaults", () => {
    expect(valid({ prefetch: { expiring: true, prediction: { enable: true } } }).cache.prefetch).toEqual({
      expiring: true,
      prediction: { enable: true, window: "15m", period: 24 },
    });
  });

  it("keeps prediction without enable off, as upstream (6.0 read the object as on)", () => {
    const cfg = valid({ prefetch: { prediction: { window: "30m", period: 48 } } });
    expect(cfg.cache.prefetch.prediction).toEqual({ enable: false, window: "30m", period: 48 });
    expect(renderCache(cfg)).not.toContain("predict");
  });

  it("refuses prediction without expiring: kresd 5.6's predict module always does both", () => {
    expect(problems({ prefetch: { prediction: { enable: true } } })).toEqual([
      {
        pointer: "/cache/prefetch/expiring",
        message: expect.stringMatching(
          /^not supported by kresd 5\.6: its predict module always prefetches expiring/,
        ),
      },
    ]);
  });

  it("refuses an enabled prediction window that is not a whole number of minutes", () => {
    for (const window of ["90s", "30s", "0m"]) {
      expect(problems({ prefetch: { expiring: true, prediction: { enable: true, window } } })).toEqual([
        {
          pointer: "/cache/prefetch/prediction/window",
          message: `not supported by kresd 5.6: the prediction window is a whole number of minutes (at least 1m), got '${window}'`,
        },
      ]);
    }
    expect(problems({ prefetch: { expiring: true, prediction: { period: 0 } } })).toEqual([
      { pointer: "/cache/prefetch/prediction/period", message: "must be at least 1" },
    ]);
  });
});

describe("renderCache", () => {
  it("opens the LMDB cache and sets the TTL bounds and NS timeout", () => {
    expect(renderCache(valid({}))).toBe(
      [
        `cache.open(104857600, "lmdb://${storage}")`,
        "cache.min_ttl(0)",
        "cache.max_ttl(86400)",
        "cache.min_ttl(5)",
        "cache.ns_tout(1000)",
      ].join("\n"),
    );
  });

  it("escapes the storage path", () => {
    const odd = path.join(tmp, 'we"ird\\dir');
    fs.mkdirSync(odd);
    const lua = renderCache(valid({ storage: odd }));
    expect(lua).toContain(`"lmdb://${tmp}/we\\034ird\\092dir"`);
  });

  it("loads prefill for the root zone", () => {
    const lua = renderCache(
      valid({
        prefill: [{ origin: ".", url: "https://h/root.zone", "refresh-interval": "2h", "ca-file": caFile }],
      }),
    );
    expect(lua).toContain(
      `modules.load("prefill")\nprefill.config({["."] = {url = "https://h/root.zone", interval = 7200, ca_file = "${caFile}"}})`,
    );
  });

  it("loads predict with prediction off for expiring records only", () => {
    expect(renderCache(valid({ prefetch: { expiring: true } }))).toContain(
      'modules.load("predict")\npredict.config({period = 0})',
    );
  });

  it("configures the prediction window in minutes", () => {
    expect(
      renderCache(
        valid({ prefetch: { expiring: true, prediction: { enable: true, window: "1h", period: 12 } } }),
      ),
    ).toContain('modules.load("predict")\npredict.config({window = 60, period = 12})');
  });

  it("loads neither prefill nor predict by default", () => {
    const lua = renderCache(valid({}));
    expect(lua).not.toContain("prefill");
    expect(lua).not.toContain("predict");
  });
});

describe("cache JSON Schema", () => {
  it("describes the keys as users write them, with upstream defaults", () => {
    const schema = configJsonSchema() as {
      properties: { cache: { properties: Record<string, { default?: unknown; description?: string }> } };
    };
    const cache = schema.properties.cache.properties;
    expect(Object.keys(cache).sort()).toEqual(
      [
        "garbage-collector",
        "ns-timeout",
        "prefetch",
        "prefill",
        "size-max",
        "storage",
        "ttl-max",
        "ttl-min",
      ].sort(),
    );
    expect(cache["size-max"]?.default).toBe("100M");
    expect(cache["ttl-max"]?.default).toBe("1d");
    for (const field of Object.values(cache)) expect(field.description).toEqual(expect.any(String));
  });
});
