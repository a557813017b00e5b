import * as fs from "node:fs";
import * as path from "node:path";
import { kresConfigSchema, WORKERS_MAX } from "../../../lib/datamodel/config.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { loadConfigFiles, validateConfig } from "../../../lib/datamodel/load.js";
import { problemsOf as problems, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-config-");

describe("top-level settings", () => {
  it("fills upstream defaults", () => {
    const cfg = validateConfig({ rundir }, { hostname: "box", cpuCount: 4 });
    expect(cfg).toMatchObject({
      version: 1,
      hostname: "box",
      rundir,
      workers: 1,
    });
    expect(cfg.nsid).toBeUndefined();
    expect(cfg).not.toHaveProperty("max-workers");
  });

  it("resolves workers: auto to the usable CPUs", () => {
    expect(validateConfig({ rundir, workers: "auto" }, { cpuCount: 3 }).workers).toBe(3);
  });

  it("refuses more workers than 10 per CPU or WORKERS_MAX in all, as upstream", () => {
    expect(validateConfig({ rundir, workers: 20 }, { cpuCount: 2 }).workers).toBe(20);
    expect(problems({ rundir, workers: 21 }, { cpuCount: 2 })[0]?.message).toContain("at most 10 per CPU");
    expect(problems({ rundir, workers: WORKERS_MAX + 1 }, { cpuCount: 64 })).toEqual([
      { pointer: "/workers", message: expect.stringContaining(`${WORKERS_MAX} in all`) },
    ]);
  });

  it("refuses the Knot Resolver 6.0 keys max-workers and webmgmt, pointing to kresctl migrate", () => {
    expect(problems({ rundir, workers: 2, "max-workers": 4 })).toEqual([
      {
        pointer: "/max-workers",
        message: expect.stringMatching(/^removed in Knot Resolver 6\.x \('workers' alone .*kresctl migrate/),
      },
    ]);
    expect(problems({ rundir, options: { "max-workers": 4 } })).toEqual([
      { pointer: "/options/max-workers", message: "unknown key" },
    ]);
    expect(problems({ rundir, webmgmt: { interface: "127.0.0.1@8453" } })).toEqual([
      {
        pointer: "/webmgmt",
        message: expect.stringMatching(/^removed in Knot Resolver 6\.x .*kresctl migrate/),
      },
    ]);
  });

  it("refuses bad workers values with one clear message", () => {
    expect(problems({ rundir, workers: "many" })).toEqual([
      { pointer: "/workers", message: expect.stringContaining("'auto'") },
    ]);
    expect(problems({ rundir, workers: 0 })).toEqual([
      { pointer: "/workers", message: "must be at least 1" },
    ]);
  });

  it("refuses an NSID that cannot fit in a DNS message, counting bytes", () => {
    expect(validateConfig({ rundir, nsid: "é".repeat(32_500) }).nsid).toHaveLength(32_500);
    expect(problems({ rundir, nsid: "é".repeat(32_501) })).toEqual([
      {
        pointer: "/nsid",
        message: expect.stringMatching(/^not supported by kresd 5.6: an NSID longer than 65000 bytes/),
      },
    ]);
  });

  it("takes nsid and hostname as free text", () => {
    const cfg = validateConfig({ rundir, nsid: 'res-1 "x"', hostname: "h" });
    expect([cfg.nsid, cfg.hostname]).toEqual(['res-1 "x"', "h"]);
  });

  it("takes what upstream takes for nsid and hostname: an integer as its digits, null as not set", () => {
    const cfg = validateConfig({ rundir, nsid: 12345, hostname: 7 });
    expect([cfg.nsid, cfg.hostname]).toEqual(["12345", "7"]);
    const unset = validateConfig({ rundir, nsid: null, hostname: null }, { hostname: "box" });
    expect([unset.nsid, unset.hostname]).toEqual([undefined, "box"]);
    expect(problems({ rundir, nsid: true })).toEqual([{ pointer: "/nsid", message: "expected a string" }]);
    expect(problems({ rundir, nsid: 1.5 })).toEqual([{ pointer: "/nsid", message: "expected a string" }]);
  });

  it("accepts only schema version 1", () => {
    expect(problems({ rundir, version: 2 })[0]?.pointer).toBe("/version");
  });

  it("requires rundir to be a writable directory", () => {
    expect(problems({ rundir: path.join(rundir, "missing") })).toEqual([
      { pointer: "/rundir", message: `'${path.join(rundir, "missing")}' is not an existing directory` },
    ]);
  });

  it("reports every problem at once, each with its JSON pointer", () => {
    const found = problems({ rundir, workers: -1, nsid: false, bogus: true, "max-workers": "x" });
    expect(found.map((p) => p.pointer).sort()).toEqual(["/bogus", "/max-workers", "/nsid", "/workers"]);
    expect(found.find((p) => p.pointer === "/bogus")?.message).toBe("unknown key");
  });

  it("refuses a document that is not an object", () => {
    expect(problems(["a"])[0]?.pointer).toBe("");
  });
});

describe("config files", () => {
  it("merges several files, later ones overriding, paths relative to the first file", () => {
    const dir = fs.mkdtempSync(path.join(rundir, "files-"));
    fs.mkdirSync(path.join(dir, "run"));
    fs.writeFileSync(path.join(dir, "a.yaml"), "rundir: ./run\nworkers: 2\nnsid: a\n");
    fs.writeFileSync(path.join(dir, "b.yaml"), "nsid: b\n");
    const { config } = loadConfigFiles([path.join(dir, "a.yaml"), path.join(dir, "b.yaml")], { cpuCount: 4 });
    expect(config).toMatchObject({ rundir: path.join(dir, "run"), workers: 2, nsid: "b" });
  });

  it("names the file and line of a YAML syntax error", () => {
    const file = path.join(rundir, "broken.yaml");
    fs.writeFileSync(file, "workers: [1\n");
    expect(() => loadConfigFiles([file])).toThrow(new RegExp(`^${file}: .*line`));
  });

  it("names a file that cannot be read", () => {
    expect(() => loadConfigFiles([path.join(rundir, "nope.yaml")])).toThrow("cannot read: ENOENT");
  });
});

describe("validated configs", () => {
  it("validate again to themselves (defaults and normal forms are stable)", () => {
    const cfg = validateConfig({ rundir, workers: "auto", nsid: "n" }, { cpuCount: 2 });
    expect(validateConfig(JSON.parse(JSON.stringify(cfg)), { cpuCount: 2 })).toEqual(cfg);
  });
});

describe("JSON Schema export", () => {
  const schema = configJsonSchema() as { properties: Record<string, { default?: unknown }>; $schema: string };

  it("is generated from the zod schema: every top-level key is described", () => {
    expect(Object.keys(schema.properties).sort()).toEqual(Object.keys(kresConfigSchema.shape).sort());
    expect(schema.properties).not.toHaveProperty("max-workers");
    expect(schema.$schema).toContain("json-schema.org");
  });

  it("carries upstream defaults", () => {
    expect(schema.properties.version?.default).toBe(1);
    expect(schema.properties.workers?.default).toBe(1);
  });

  it("is plain JSON", () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
