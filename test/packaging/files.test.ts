/**
 * The packaging sources, checked without building anything (the packages themselves are built,
 * installed, run and purged by `npm run test:packaging`, scripts/test-packaging): versions in step,
 * the packaged config valid and as documented, the unit and the Debian relations as the packages
 * promise.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseConfigText } from "../../lib/datamodel/load.js";
import { DEFAULT_HISTORY_STORAGE } from "../../lib/datamodel/sections/history/schema.js";
import { ensureBuilt, KRESCTL, REPO_ROOT, run } from "../../harness/repo.js";

const read = (file: string) => fs.readFileSync(path.join(REPO_ROOT, file), "utf8");
const PACKAGED_CONFIG = path.join(REPO_ROOT, "etc/knot-resolver/config.yaml");
const UNIT = "debian/knot-resolver-manager.knot-resolver.service";

/** KEY=VALUE lines of a unit file's [Service] section, in order. */
function serviceSettings(text: string): [string, string][] {
  const out: [string, string][] = [];
  let section = "";
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#") || t.startsWith(";")) continue;
    if (t.startsWith("[")) {
      section = t;
      continue;
    }
    const i = t.indexOf("=");
    if (section === "[Service]" && i > 0) out.push([t.slice(0, i).trim(), t.slice(i + 1).trim()]);
  }
  return out;
}

describe("package versions", () => {
  const version = (JSON.parse(read("package.json")) as { version: string }).version;

  it("debian/changelog's latest entry is package.json's version", () => {
    expect(read("debian/changelog").split("\n")[0]).toBe(
      `knot-resolver-manager (${version}) unstable; urgency=medium`,
    );
  });

  it("the rpm spec's Version is package.json's version", () => {
    expect(read("rpm/knot-resolver-manager.spec")).toMatch(
      new RegExp(`^Version:\\s+${version.replace(/\./g, "\\.")}$`, "m"),
    );
  });
});

describe("the packaged /etc/knot-resolver/config.yaml", () => {
  it("is valid (kresctl validate --no-strict)", async () => {
    const r = await run(KRESCTL, ["validate", "--no-strict", PACKAGED_CONFIG]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("listens on 127.0.0.1@53 and ::1@53, API and cache at the upstream paths", () => {
    const cfg = parseConfigText(fs.readFileSync(PACKAGED_CONFIG, "utf8")) as {
      network: { listen: unknown };
      management: unknown;
      cache: { storage: unknown };
      rundir: unknown;
    };
    expect(cfg.network.listen).toEqual([{ interface: "127.0.0.1@53" }, { interface: "::1@53" }]);
    expect(cfg.management).toEqual({ "unix-socket": "/run/knot-resolver/kres-api.sock" });
    expect(cfg.cache.storage).toBe("/var/cache/knot-resolver");
    expect(cfg.rundir).toBe("/run/knot-resolver");
  });
});

describe("knot-resolver.service", () => {
  const settings = serviceSettings(read(UNIT));
  const get = (key: string) => settings.filter(([k]) => k === key).map(([, v]) => v);

  it("is Type=notify, starts /usr/bin/knot-resolver on the packaged config, reloads with SIGHUP", () => {
    expect(get("Type")).toEqual(["notify"]);
    expect(get("ExecStart")).toEqual(["/usr/bin/knot-resolver -c /etc/knot-resolver/config.yaml"]);
    expect(get("ExecReload")).toEqual(["/bin/kill -HUP $MAINPID"]);
  });

  it("runs as knot-resolver with the capability to bind port 53, in systemd-made directories", () => {
    expect(get("User")).toEqual(["knot-resolver"]);
    expect(get("AmbientCapabilities")[0]?.split(/\s+/)).toContain("CAP_NET_BIND_SERVICE");
    expect(get("CapabilityBoundingSet")[0]?.split(/\s+/)).toContain("CAP_NET_BIND_SERVICE");
    expect(get("RuntimeDirectory")).toEqual(["knot-resolver"]);
    expect(get("CacheDirectory")).toEqual(["knot-resolver"]);
  });

  it("makes the history's default directory, /var/lib/knot-resolver/history, the user's alone", () => {
    expect(get("StateDirectory").map((d) => `/var/lib/${d}`)).toEqual([DEFAULT_HISTORY_STORAGE]);
    expect(get("StateDirectoryMode")).toEqual(["0700"]);
  });
});

describe("debian/control", () => {
  const control = read("debian/control");
  const depends = /^Depends:((?:.*\n)(?:[ \t].*\n)*)/m.exec(control.split("\n\n")[1] + "\n")?.[1] ?? "";
  const relations = depends
    .split(",")
    .map((r) => r.trim())
    .filter(Boolean);

  it.each(["nodejs (>= 20.19)", "knot-resolver (>= 5.6)", "supervisor", "python3"])("Depends: %s", (rel) => {
    expect(relations).toContain(rel);
  });
});

describe("the installed tree (scripts/package-layout install)", () => {
  it("carries the dashboard beside the bundle, where the bundled manager looks, each file with its gzip copy", async () => {
    ensureBuilt();
    const build = fs.mkdtempSync(path.join(os.tmpdir(), "krm-layout-build-"));
    const dest = fs.mkdtempSync(path.join(os.tmpdir(), "krm-layout-dest-"));
    try {
      // What `package-layout build` leaves, from this tree's build (no npm ci here); the modules
      // only for their license texts, read.
      fs.cpSync(path.join(REPO_ROOT, "dist"), path.join(build, "dist"), { recursive: true });
      fs.symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(build, "node_modules"));
      // This tree's node_modules may be a link to another tree's (a worktree): the metafile then names
      // the modules by that tree's path; a package build's npm ci puts them in BUILDDIR/node_modules.
      const metaFile = path.join(build, "dist/bundle/meta.json");
      const meta = JSON.parse(fs.readFileSync(metaFile, "utf8")) as { inputs: Record<string, unknown> };
      meta.inputs = Object.fromEntries(
        Object.entries(meta.inputs).map(([k, v]) => [
          k.replace(/^(?:\.\.\/)+[^/]+\/node_modules\//, "node_modules/"),
          v,
        ]),
      );
      fs.writeFileSync(metaFile, JSON.stringify(meta));
      const r = await run(path.join(REPO_ROOT, "scripts/package-layout"), ["install", build, dest], {
        cwd: REPO_ROOT,
      });
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const dist = path.join(dest, "usr/lib/knot-resolver-manager/dist");
      const files = fs.readdirSync(path.join(dist, "ui")).sort();
      expect(files).toEqual(expect.arrayContaining(["index.html", "app.js", "app.css"]));
      for (const f of files.filter((n) => !n.endsWith(".gz"))) expect(files).toContain(`${f}.gz`);
      // lib/manager/ui-assets.ts in the bundle: dist/ui relative to a chunk in dist/bundle/.
      const code = fs
        .readdirSync(path.join(dist, "bundle"))
        .filter((n) => n.endsWith(".js"))
        .map((n) => fs.readFileSync(path.join(dist, "bundle", n), "utf8"))
        .join("\n");
      expect(code).toContain('new URL("../ui/",import.meta.url)');
      expect(fs.existsSync(path.join(dist, "bundle", "../ui/index.html"))).toBe(true);
    } finally {
      fs.rmSync(build, { recursive: true, force: true });
      fs.rmSync(dest, { recursive: true, force: true });
    }
  });
});
