/**
 * Changes persisted into the config file(s): real supervisord, manager and kresd 5.6 workers, the
 * real kresctl. A persisted change survives killing everything and a fresh start from the same
 * file, whose other bytes stay as they were; a file that cannot be written refuses the change
 * before any worker moves; management.persist makes it the default; with several -c files each key
 * lands in the file that defines it; GET / and reload tell about changes that are not in the files.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import * as Y from "yaml";
import { KRESCTL, run, waitFor, type RunResult } from "../../harness/index.js";
import { apiCall } from "../../harness/api.js";
import { Resolvers, type Resolver, type ResolverOptions } from "../../harness/resolver.js";

jest.setTimeout(240_000);

const resolvers = new Resolvers();
const resolver = (opts?: ResolverOptions) => resolvers.start(opts);
afterAll(() => resolvers.stopAll());

interface Status {
  etag: string;
  "config-source": { from: string };
  "unpersisted-changes"?: boolean;
}
const status = async (r: Resolver): Promise<Status> =>
  (await apiCall(r.apiSocket, "GET", "/")).json as Status;
const kresctl = (r: Resolver, ...args: string[]): Promise<RunResult> =>
  run(KRESCTL, ["-s", r.apiSocket, ...args], { timeoutMs: 120_000 });
const get = async (r: Resolver, pointer: string): Promise<unknown> =>
  (await apiCall(r.apiSocket, "GET", `/v1/config${pointer}`)).json;

/** PIDs of the running kresd workers by id, as GET /processes/kresd lists them. */
async function workers(r: Resolver): Promise<Record<string, number>> {
  const rows = (await apiCall(r.apiSocket, "GET", "/processes/kresd")).json as { id: string; pid: number }[];
  return Object.fromEntries(rows.map((p) => [p.id, p.pid]));
}

/** The lines that differ between two texts (the changed run in the middle), as a line diff shows them. */
function changedLines(before: string, after: string): { removed: string[]; added: string[] } {
  const a = before.split("\n");
  const b = after.split("\n");
  let s = 0;
  while (s < a.length && s < b.length && a[s] === b[s]) s++;
  let ea = a.length;
  let eb = b.length;
  while (ea > s && eb > s && a[ea - 1] === b[eb - 1]) {
    ea--;
    eb--;
  }
  return { removed: a.slice(s, ea), added: b.slice(s, eb) };
}

/** The test config as an operator writes it: YAML with comments, quoting and blank lines. */
function commentedYaml(config: Record<string, unknown>): string {
  return (
    "# knot-resolver test config: every comment here must survive persisted changes\n\n" +
    Y.stringify(config, { lineWidth: 0 })
      .replace(/^workers: (\d+)$/m, "workers: $1   # one per core")
      .replace(/^logging:$/m, "# how chatty the resolver is\nlogging:")
      .replace(/^( {2}level: )(\w+)$/m, '$1"$2"')
  );
}

describe("a persisted change (one YAML file with comments)", () => {
  let r: Resolver;
  beforeAll(async () => {
    r = await resolver({
      config: { workers: 2 },
      files: (c) => [{ name: "config.yaml", text: commentedYaml(c) }],
    });
  });

  it("changes only its line in the file, and GET / then sees no unpersisted changes", async () => {
    const before = fs.readFileSync(r.configFile, "utf8");
    const stat = fs.statSync(r.configFile);
    expect(before).toContain('  level: "info"');
    expect((await status(r))["unpersisted-changes"]).toBe(false);
    const set = await kresctl(r, "config", "set", "--persist", "-p", "/logging/level", "debug");
    expect(set.code).toBe(0);
    const after = fs.readFileSync(r.configFile, "utf8");
    expect(changedLines(before, after)).toEqual({
      removed: ['  level: "info"'],
      added: ['  level: "debug"'],
    });
    expect((await status(r))["unpersisted-changes"]).toBe(false);
    // A new file renamed into place (another inode), with the owner and mode of the old one.
    const now = fs.statSync(r.configFile);
    expect(now.ino).not.toBe(stat.ino);
    expect([now.mode, now.uid, now.gid]).toEqual([stat.mode, stat.uid, stat.gid]);
  });

  it("refuses a change when the file cannot be written, before any worker moved", async () => {
    const dir = path.dirname(r.configFile);
    const text = fs.readFileSync(r.configFile, "utf8");
    const pids = await workers(r);
    const etag = (await status(r)).etag;
    // Root ignores permission bits: an immutable directory refuses even root a new file in it.
    const chattr = await run("/usr/bin/chattr", ["+i", dir]);
    expect(chattr.code).toBe(0);
    try {
      const res = await apiCall(r.apiSocket, "PUT", "/v1/config/workers?persist=true", { body: 3 });
      expect(res.status).toBe(507);
      const body = res.json as { error: string; message?: string };
      expect(JSON.stringify(body)).toContain(r.configFile);
      expect(JSON.stringify(body)).toMatch(/EPERM|EACCES|EROFS/);
    } finally {
      await run("/usr/bin/chattr", ["-i", dir]);
    }
    expect(await workers(r)).toEqual(pids);
    expect((await status(r)).etag).toBe(etag);
    expect(await get(r, "/workers")).toBe(2);
    expect(fs.readFileSync(r.configFile, "utf8")).toBe(text);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("survives killing everything and a fresh start from the same file", async () => {
    const { etag } = await status(r);
    r.killNow(); // supervisord, manager, workers: SIGKILL, nothing saved on the way out
    const again = await r.again();
    resolvers.keep(again);
    const s = await status(again);
    expect(s["config-source"].from).toBe("files");
    expect(s.etag).toBe(etag);
    expect(await get(again, "/logging/level")).toBe("debug");
  });
});

describe("management.persist and several -c files", () => {
  let r: Resolver;
  beforeAll(async () => {
    r = await resolver({
      config: { workers: 2 },
      files: (c) => {
        // The site file overrides the base file's logging level and sets persist.
        const { logging: _l, ...base } = c;
        return [
          { name: "base.yaml", text: `# base\n${Y.stringify({ ...base, logging: { level: "notice" } })}` },
          {
            name: "site.yaml",
            text: `# site overrides\nlogging:\n  level: info # site's level\nmanagement:\n  unix-socket: ${JSON.stringify(
              (c.management as Record<string, string>)["unix-socket"],
            )}\n  persist: true\n`,
          },
        ];
      },
    });
  });
  const [base, site] = [0, 1];

  it("persists an API change by default, to the file that defines the key; a new key goes to the last file", async () => {
    const files = r.configFiles;
    const texts = files.map((f) => fs.readFileSync(f, "utf8"));
    expect((await apiCall(r.apiSocket, "PUT", "/v1/config/logging/level", { body: "debug" })).status).toBe(
      200,
    );
    expect((await apiCall(r.apiSocket, "PUT", "/v1/config/nsid", { body: "test-1" })).status).toBe(200);
    const now = files.map((f) => fs.readFileSync(f, "utf8"));
    expect(now[base]).toBe(texts[base]); // it also has logging/level, but the site's wins
    expect(now[site]).toBe(
      `${(texts[site] as string).replace("level: info # site's level", "level: debug # site's level")}nsid: test-1\n`,
    );
    expect((await status(r))["unpersisted-changes"]).toBe(false);
  });

  it("turns persist off at run time without restarting a worker; ?persist=false keeps a change in memory", async () => {
    const pids = await workers(r);
    expect((await apiCall(r.apiSocket, "PUT", "/v1/config/management/persist", { body: false })).status).toBe(
      200,
    );
    expect(fs.readFileSync(r.configFiles[site] as string, "utf8")).toContain("  persist: false\n");
    expect(await workers(r)).toEqual(pids);
    const text = fs.readFileSync(r.configFiles[base] as string, "utf8");
    expect((await apiCall(r.apiSocket, "PUT", "/v1/config/workers?persist=false", { body: 3 })).status).toBe(
      200,
    );
    expect(fs.readFileSync(r.configFiles[base] as string, "utf8")).toBe(text);
    expect((await status(r))["unpersisted-changes"]).toBe(true);
  });

  it("kresctl reload from a script warns that it drops the unpersisted change, then reloads", async () => {
    const res = await kresctl(r, "reload");
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/not in the config files.*reloading drops them.*--yes/);
    await waitFor(
      "the reloaded worker count",
      async () => ((await get(r, "/workers")) === 2 ? true : undefined),
      {
        timeoutMs: 60_000,
      },
    );
    expect((await status(r))["unpersisted-changes"]).toBe(false);
    await waitFor("the manager's warning", () => (/reloading replaces it/.test(r.log) ? true : undefined), {
      timeoutMs: 10_000,
    });
    const quiet = await kresctl(r, "reload", "--yes");
    expect(quiet.stderr).not.toMatch(/drops/);
  });
});
