import * as fs from "node:fs";
import * as path from "node:path";
import { cacheGcArgs } from "../../../lib/controller/cache-gc.js";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kres-cache-gc-");
const storage = path.join(tmp, "cache");
fs.mkdirSync(storage);

const { valid } = section("cache", { rundir, defaults: { storage } });

describe("kres-cache-gc command line", () => {
  it("maps the defaults to kres-cache-gc 5.6 options", () => {
    expect(cacheGcArgs(valid({}))).toEqual([
      "-c",
      storage,
      "-d",
      "1000",
      "-u",
      "80",
      "-f",
      "10",
      "-l",
      "100",
      "-L",
      "200",
      "-t",
      "0",
      "-m",
      "0",
      "-w",
      "0",
    ]);
  });

  it("converts units to what each option takes and adds -n for a dry run", () => {
    const cfg = valid({
      "garbage-collector": {
        interval: "2m",
        threshold: 90,
        release: 25,
        "temp-keys-space": "1G",
        "rw-deletes": 0,
        "rw-reads": 7,
        "rw-duration": "3ms",
        "rw-delay": "1s",
        "dry-run": true,
      },
    });
    expect(cacheGcArgs(cfg)).toEqual([
      "-c",
      storage,
      "-d",
      "120000",
      "-u",
      "90",
      "-f",
      "25",
      "-l",
      "0",
      "-L",
      "7",
      "-t",
      "1024",
      "-m",
      "3000",
      "-w",
      "1000000",
      "-n",
    ]);
  });

  it("adds -v when logging is at debug level or has the cache-gc group", () => {
    const cfg = valid({});
    const withLogging = (logging: unknown) => ({ ...cfg, logging }) as unknown as KresConfig;
    expect(cacheGcArgs(withLogging({ level: "debug" }))).toContain("-v");
    expect(cacheGcArgs(withLogging({ level: "info", groups: ["cache-gc"] }))).toContain("-v");
    expect(cacheGcArgs(withLogging({ level: "info", groups: ["cache"] }))).not.toContain("-v");
  });

  it("refuses to build arguments for a disabled collector", () => {
    expect(() => cacheGcArgs(valid({ "garbage-collector": { enable: false } }))).toThrow(/disabled/);
  });
});
