import * as fs from "node:fs";
import * as path from "node:path";
import { writeFileAtomic } from "../../../lib/utils/files.js";
import { tmpDir } from "../../../harness/tmp.js";

describe("writeFileAtomic", () => {
  const dir = tmpDir("krm-files-");

  it("writes the content with mode 0600 by default, whatever the umask", () => {
    const file = path.join(dir, "worker.lua");
    const old = process.umask(0o000);
    try {
      writeFileAtomic(file, "-- lua\n");
    } finally {
      process.umask(old);
    }
    expect(fs.readFileSync(file, "utf8")).toBe("-- lua\n");
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    writeFileAtomic(file, "x", 0o640);
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
  });

  it("replaces a symlink at the path, never writing through it to its target", () => {
    const target = path.join(dir, "precious");
    fs.writeFileSync(target, "keep me");
    const link = path.join(dir, "link.lua");
    fs.symlinkSync(target, link);
    writeFileAtomic(link, "new");
    expect(fs.readFileSync(target, "utf8")).toBe("keep me");
    expect(fs.lstatSync(link).isSymbolicLink()).toBe(false);
    expect(fs.readFileSync(link, "utf8")).toBe("new");
  });

  it("is not misled by a link planted at a guessable temporary name", () => {
    const target = path.join(dir, "victim");
    fs.writeFileSync(target, "keep me");
    const file = path.join(dir, "conf");
    // The names an attacker could guess: the PID-based one this used to use, and plain ones.
    for (const name of [`.conf.${process.pid}.tmp`, ".conf.tmp", "conf.tmp"])
      fs.symlinkSync(target, path.join(dir, name));
    for (let i = 0; i < 5; i++) writeFileAtomic(file, String(i));
    expect(fs.readFileSync(target, "utf8")).toBe("keep me");
    expect(fs.readFileSync(file, "utf8")).toBe("4");
    const left = fs
      .readdirSync(dir)
      .filter((f) => f.startsWith(".conf.") && !fs.lstatSync(path.join(dir, f)).isSymbolicLink());
    expect(left).toEqual([]);
  });

  it("fails without touching anything when the directory is missing", () => {
    expect(() => writeFileAtomic(path.join(dir, "no-such-dir", "f"), "x")).toThrow(/ENOENT/);
  });
});
