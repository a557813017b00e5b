/**
 * kresctl against a real knot-resolver (supervisord, manager, kresd 5.6), run as a user runs it:
 * bin/kresctl from dist/. The evidence is supervisord's view of the processes, kdig answers,
 * promtool, and the processes ending.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import { KRESCTL, ensureBuilt, kdigAt, run, waitFor, type RunResult } from "../../harness/index.js";
import { promtoolProblems } from "../../harness/prometheus.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

let r: Resolver;

/** bin/kresctl talking to this resolver's API socket. */
const ctl = (...args: string[]): Promise<RunResult> =>
  run(KRESCTL, ["-s", r.apiSocket, ...args], { timeoutMs: 120_000 });

/** PIDs of the running kresd workers by name, as supervisord sees them. */
async function workerPids(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const [name, row] of await r.status())
    if (name.startsWith("kresd:") && row.state === "RUNNING" && row.pid) out.set(name, row.pid);
  return out;
}

const sorted = (pids: Iterable<number>): number[] => [...pids].sort((a, b) => a - b);

/** The PIDs `kresctl pids ...` printed, one per line. */
const printedPids = (r: RunResult): number[] =>
  sorted(r.stdout.trim().split("\n").filter(Boolean).map(Number));

async function addressesOf(name: string): Promise<string[]> {
  const res = await kdigAt(r.port, name, "A");
  return res.answers.filter((a) => a.type === "A").map((a) => a.data);
}

/** A run that worked: exit 0 and nothing on stderr. */
function ok(res: RunResult): RunResult {
  expect({ code: res.code, stderr: res.stderr }).toEqual({ code: 0, stderr: "" });
  return res;
}

beforeAll(async () => {
  ensureBuilt();
  r = await startResolver({
    config: { workers: 2, "local-data": { addresses: { "one.test.": "192.0.2.1" } } },
  });
}, 180_000);
afterAll(async () => {
  await r.stop();
});

describe("config get", () => {
  it("prints the running configuration as YAML by default, as upstream; as JSON with --json", async () => {
    const yamlText = ok(await ctl("config", "get")).stdout;
    expect(yamlText).toMatch(/^workers: 2$/m);
    expect(yamlText).toContain(`rundir: ${r.rundir}\n`);
    const config = JSON.parse(ok(await ctl("config", "get", "--json")).stdout) as Record<string, unknown>;
    expect(config).toMatchObject({ workers: 2, rundir: r.rundir });
  });

  it("prints a subtree by JSON pointer given with -p/--path (or as an argument), as YAML or JSON", async () => {
    expect(ok(await ctl("config", "get", "-p", "/workers")).stdout).toBe("2\n");
    expect(ok(await ctl("config", "get", "--path", "/workers", "--json")).stdout).toBe("2\n");
    expect(ok(await ctl("config", "get", "/workers")).stdout).toBe("2\n");
    expect(ok(await ctl("config", "get", "-p", "/local-data/addresses")).stdout).toBe(
      "one.test.: 192.0.2.1\n",
    );
  });

  it("saves to FILE and says so", async () => {
    const file = path.join(r.dir, "addresses.json");
    expect(ok(await ctl("config", "get", "--json", "-p", "/local-data/addresses", file)).stdout).toBe(
      `saved to: ${file}\n`,
    );
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toEqual({ "one.test.": "192.0.2.1" });
  });

  it("finds the API through --config FILE's management section", async () => {
    const res = await run(KRESCTL, ["-c", r.configFile, "config", "get", "-p", "/workers"]);
    expect(ok(res).stdout).toBe("2\n");
  });

  it("exits 1 with the manager's error for an unknown pointer", async () => {
    const res = await ctl("config", "get", "-p", "/cache/nonexistent");
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^kresctl: no such configuration path: .*\n$/);
  });
});

describe("pids", () => {
  it("lists exactly the running kresd PIDs", async () => {
    expect(printedPids(ok(await ctl("pids", "kresd")))).toEqual(sorted((await workerPids()).values()));
  });

  it("lists the workers and the garbage collector for all (the default), as JSON with --json", async () => {
    const status = await r.status();
    const all = printedPids(ok(await ctl("pids")));
    for (const pid of [...(await workerPids()).values(), status.get("cache-gc")?.pid as number])
      expect(all).toContain(pid);
    const rows = JSON.parse(ok(await ctl("pids", "gc", "--json")).stdout) as { type: string; pid: number }[];
    expect(rows).toEqual([expect.objectContaining({ type: "gc", pid: status.get("cache-gc")?.pid })]);
  });
});

describe("config set / delete", () => {
  it("config set -p /workers 3 runs three kresd", async () => {
    expect(ok(await ctl("config", "set", "-p", "/workers", "3")).stdout).toBe("3\n");
    const pids = await workerPids();
    expect([...pids.keys()].sort()).toEqual(["kresd:kresd0", "kresd:kresd1", "kresd:kresd2"]);
    expect(printedPids(ok(await ctl("pids", "kresd")))).toEqual(sorted(pids.values()));
  });

  it("config set -p of a new local-data address makes DNS answer it; config delete -p removes it", async () => {
    ok(await ctl("config", "set", "-p", "/local-data/addresses/two.test.", "192.0.2.2"));
    expect(await addressesOf("two.test.")).toEqual(["192.0.2.2"]);
    expect(ok(await ctl("config", "delete", "-p", "/local-data/addresses/two.test.")).stdout).toBe("");
    expect(await addressesOf("two.test.")).toEqual([]);
    expect(await addressesOf("one.test.")).toEqual(["192.0.2.1"]);
  });

  it("config set -p takes the value from a file named positionally, or from standard input", async () => {
    const file = path.join(r.dir, "three.yaml");
    fs.writeFileSync(file, "192.0.2.3\n");
    ok(await ctl("config", "set", "-p", "/local-data/addresses/three.test.", file));
    expect(await addressesOf("three.test.")).toEqual(["192.0.2.3"]);
    const piped = await run(
      KRESCTL,
      ["-s", r.apiSocket, "config", "set", "-p", "/local-data/addresses/four.test."],
      {
        input: "192.0.2.4\n",
        timeoutMs: 120_000,
      },
    );
    ok(piped);
    expect(await addressesOf("four.test.")).toEqual(["192.0.2.4"]);
    ok(await ctl("config", "delete", "--path", "/local-data/addresses/three.test."));
    ok(await ctl("config", "delete", "/local-data/addresses/four.test."));
    expect(await addressesOf("three.test.")).toEqual([]);
  });

  it("a refused change exits 1 with the reasons and changes nothing", async () => {
    const before = await workerPids();
    const res = await ctl("config", "set", "/workers", "0");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("kresctl: the configuration is invalid\n  /workers: ");
    expect(await workerPids()).toEqual(before);
  });
});

describe("schema", () => {
  it("prints the same JSON Schema offline and --live from the manager", async () => {
    const offline = JSON.parse(ok(await run(KRESCTL, ["schema"])).stdout) as Record<string, unknown>;
    const live = JSON.parse(ok(await ctl("schema", "--live")).stdout) as Record<string, unknown>;
    expect(live.$schema).toBe("https://json-schema.org/draft/2020-12/schema");
    expect(live).toEqual(offline);
  });
});

describe("reload --force", () => {
  it("replaces every worker with the configuration file's (2 workers again, after the API set 3)", async () => {
    const before = await workerPids();
    expect(before.size).toBe(3);
    // The API's 3 were not persisted: kresctl, run from a script, says the reload drops them.
    const reload = await ctl("reload", "--force");
    expect(reload.code).toBe(0);
    expect(reload.stderr).toMatch(/^warning: .*not in the config files.*reloading drops them/);
    const after = await workerPids();
    expect([...after.keys()].sort()).toEqual(["kresd:kresd0", "kresd:kresd1"]);
    for (const pid of after.values()) expect([...before.values()]).not.toContain(pid);
    expect(ok(await ctl("config", "get", "/workers")).stdout).toBe("2\n");
    expect(await addressesOf("one.test.")).toEqual(["192.0.2.1"]);
  });

  it("without --force leaves unchanged workers running", async () => {
    const before = await workerPids();
    ok(await ctl("reload"));
    expect(await workerPids()).toEqual(before);
  });
});

describe("metrics", () => {
  it("prints JSON keyed by worker ID (kresd:kresdN), one key per running worker", async () => {
    await kdigAt(r.port, "one.test.", "A");
    const metrics = JSON.parse(ok(await ctl("metrics")).stdout) as Record<string, unknown>;
    expect(Object.keys(metrics).sort()).toEqual([...(await workerPids()).keys()].sort());
  });

  it("--prometheus passes promtool check metrics (apart from help-text lint) with a series per worker", async () => {
    const text = ok(await ctl("metrics", "--prometheus")).stdout;
    expect(promtoolProblems(text)).toEqual([]);
    for (const id of (await workerPids()).keys())
      expect(text).toContain(`resolver_metrics_loaded{instance_id="${id}"} 1`);
  });

  it("writes to FILE", async () => {
    const file = path.join(r.dir, "metrics.json");
    expect(ok(await ctl("metrics", file)).stdout).toBe("");
    expect(Object.keys(JSON.parse(fs.readFileSync(file, "utf8")) as object).length).toBe(
      (await workerPids()).size,
    );
  });
});

describe("cache clear", () => {
  it("--json --exact-name --rr-type AAAA example.com. prints the worker's result as JSON", async () => {
    const res = ok(
      await ctl("cache", "clear", "--json", "--exact-name", "--rr-type", "AAAA", "example.com."),
    );
    expect(JSON.parse(res.stdout)).toMatchObject({ count: expect.any(Number) });
  });

  it("clears the whole cache without a name (YAML by default)", async () => {
    expect(ok(await ctl("cache", "clear")).stdout).toMatch(/^count: \d+\n/);
  });

  it("a bad --rr-type exits 1 with one line naming it", async () => {
    const res = await ctl("cache", "clear", "--exact-name", "--rr-type", "NOTATYPE", "example.com.");
    expect(res.code).toBe(1);
    expect(res.stdout).toBe("");
    expect(res.stderr).toMatch(/^kresctl: cache clear: --rr-type: 'NOTATYPE' is not an RR type[^\n]*\n$/);
  });
});

describe("debug", () => {
  it("--print-only prints a gdb command line attaching every worker", async () => {
    const line = ok(await ctl("debug", "--print-only", "--gdb", "/usr/bin/gdb")).stdout;
    expect(line.startsWith("/usr/bin/gdb ")).toBe(true);
    const attached = [...line.matchAll(/'attach (\d+)'/g)].map((m) => Number(m[1]));
    expect(sorted(attached)).toEqual(sorted((await workerPids()).values()));
  });

  it("attaches gdb to every worker and leaves them running when gdb quits", async () => {
    const before = await workerPids();
    const res = await ctl("debug", "--gdb", "/usr/bin/gdb", "--", "-batch", "-ex", "info inferiors");
    expect(res.code).toBe(0);
    for (const pid of before.values()) expect(res.stdout).toMatch(new RegExp(`process ${pid}\\b`));
    expect(await workerPids()).toEqual(before);
    expect(await addressesOf("one.test.")).toEqual(["192.0.2.1"]);
  });
});

describe("an unreachable manager", () => {
  it("exits 1 with one line naming the socket tried, no stack trace", async () => {
    const socket = path.join(r.dir, "nowhere.sock");
    const res = await run(KRESCTL, ["-s", socket, "config", "get"]);
    expect(res).toMatchObject({ code: 1, stdout: "" });
    expect(res.stderr).toBe(
      `kresctl: cannot reach the management API at unix socket ${socket} (--socket): no such socket (ENOENT); is the resolver running?\n`,
    );
  });
});

describe("validate and convert, on what the resolver runs", () => {
  it("validate merges several files: the running configuration and an override", async () => {
    const running = path.join(r.dir, "running.yaml");
    ok(await ctl("config", "get", running));
    const extra = path.join(r.dir, "extra.yaml");
    fs.writeFileSync(extra, "local-data:\n  addresses:\n    five.test.: 192.0.2.5\n");
    expect(ok(await run(KRESCTL, ["validate", running, extra])).stdout).toBe(
      `${running} + ${extra}: valid (file-system checks skipped; --strict runs them)\n`,
    );
    expect(ok(await run(KRESCTL, ["validate", "--strict", running, extra])).stdout).toBe(
      `${running} + ${extra}: valid\n`,
    );
    fs.writeFileSync(extra, "workers: none\n");
    const bad = await run(KRESCTL, ["validate", running, extra]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(
      `kresctl: ${running} + ${extra}: configuration is invalid (1 problem):\n  /workers: `,
    );
  });

  it("convert -o FILE writes the worker Lua of the merged files", async () => {
    const running = path.join(r.dir, "running.yaml");
    const extra = path.join(r.dir, "extra-convert.yaml");
    fs.writeFileSync(extra, "local-data:\n  addresses:\n    six.test.: 192.0.2.6\n");
    const lua = path.join(r.dir, "worker.lua");
    expect(ok(await run(KRESCTL, ["convert", "-o", lua, running, extra])).stdout).toBe("");
    const text = fs.readFileSync(lua, "utf8");
    expect(text).toMatch(/^-- Generated by knot-resolver-manager/);
    expect(text).toContain("six.test.");
    expect(text).toContain("one.test.");
  });
});

describe("help", () => {
  it("kresctl help prints the usage with every command on stdout, exit 0", async () => {
    const res = ok(await ctl("help"));
    expect(res.stdout).toContain("Usage: kresctl");
    for (const command of ["config", "validate", "convert", "migrate", "completion", "help"])
      expect(res.stdout).toMatch(new RegExp(`^  kresctl ${command}\\b`, "m"));
  });

  it("kresctl help COMMAND prints that command's usage", async () => {
    expect(ok(await ctl("help", "config", "get")).stdout).toContain("--path");
  });
});

describe("stop", () => {
  it("ends every process of the resolver", async () => {
    const pids = [...(await r.status()).values()].map((row) => row.pid as number);
    expect(pids.length).toBeGreaterThanOrEqual(4);
    ok(await ctl("stop"));
    expect(await r.proc.exited).toEqual({ code: 0, signal: null });
    await waitFor("every process gone", () => (r.leftovers().length === 0 ? true : undefined), {
      timeoutMs: 10_000,
    });
    const res = await ctl("pids");
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("is the resolver running?");
  });
});
