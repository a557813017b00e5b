/**
 * kresctl's API commands against a throwaway manager on a unix socket: which request each command
 * sends, and what it prints for the answer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { FakeManager, kresctl, type Routes } from "./fake-manager.js";

const CONFIG = { workers: 2, network: { listen: [{ interface: "127.0.0.1@53" }] } };
const PROCESSES = [
  { type: "gc", id: "cache-gc", pid: 300, status: "RUNNING" },
  { type: "kresd", id: "kresd0", pid: 100, status: "RUNNING" },
  { type: "kresd", id: "kresd1", pid: 101, status: "RUNNING" },
  { type: "manager", id: "manager", pid: 50, status: "running" },
];

const routes: Routes = {
  "GET /v1/config": { json: CONFIG },
  "GET /v1/config/workers": { json: 2 },
  "GET /v1/config/network": { json: CONFIG.network },
  "GET /v1/config/local-data/addresses/a%20b.example": { json: ["192.0.2.1"] },
  "GET /v1/config/nope": { status: 404, json: { error: "no such configuration path: /nope: not found" } },
  "PUT /v1/config/workers": (seen) => ({ json: JSON.parse(seen.body) }),
  "PUT /v1/config/network": (seen) => ({ json: JSON.parse(seen.body) }),
  "PUT /v1/config": (seen) => ({ json: JSON.parse(seen.body) }),
  "PUT /v1/config/rundir": {
    status: 422,
    json: {
      error: "the configuration is invalid",
      details: ["/rundir: cannot be changed at run time"],
      problems: [{ pointer: "/rundir", message: "cannot be changed at run time" }],
    },
  },
  // As the manager (and upstream) answers a delete: 200, an empty body.
  "DELETE /v1/config/local-data/addresses/x.example": { status: 200 },
  "GET /": { json: { status: "RUNNING", "unpersisted-changes": false } },
  "POST /reload": { json: { changed: false, etag: "e1" } },
  "POST /reload/force": { json: { changed: true, etag: "e2" } },
  "POST /stop": { json: { msg: "stopping the resolver" } },
  "GET /schema": { json: { $schema: "https://json-schema.org/draft/2020-12/schema", live: true } },
  "GET /metrics/json": { json: { "kresd:kresd0": { answer: { total: 1 } } } },
  "GET /metrics/prometheus": {
    text: '# TYPE resolver_answer_total counter\nresolver_answer_total{instance_id="kresd:kresd0"} 1\n',
  },
  "POST /cache/clear": (seen) => {
    const body = JSON.parse(seen.body) as Record<string, unknown>;
    if (body.name === "refused.example.")
      return { status: 400, json: { error: "invalid cache clear request", details: ["/name: refused"] } };
    return { json: { count: 3, ...(body.name ? { name: body.name } : {}) } };
  },
  "GET /processes/all": { json: PROCESSES },
  "GET /processes/kresd": { json: PROCESSES.filter((p) => p.type === "kresd") },
  "GET /processes/gc": { json: PROCESSES.filter((p) => p.type === "gc") },
};

let fake: FakeManager;
beforeAll(async () => {
  fake = await FakeManager.start(routes);
});
afterAll(() => fake.stop());
beforeEach(() => fake.seen.splice(0));

const api = (...args: string[]) => kresctl(["-s", fake.socket, ...args]);
const last = () => fake.seen[fake.seen.length - 1];

describe("kresctl config get", () => {
  it("prints the whole configuration as YAML (the default, as upstream)", async () => {
    expect(await api("config", "get")).toEqual({
      code: 0,
      out: "workers: 2\nnetwork:\n  listen:\n    - interface: 127.0.0.1@53\n",
      err: "",
    });
    expect(last()).toMatchObject({ method: "GET", url: "/v1/config" });
  });

  it("prints JSON indented by four spaces with --json", async () => {
    expect((await api("config", "get", "--json")).out).toBe(JSON.stringify(CONFIG, null, 4) + "\n");
  });

  it("takes the JSON pointer with -p/--path as upstream, or as the first argument", async () => {
    for (const args of [["-p", "/workers"], ["--path", "/workers"], ["/workers"], ["-p", "workers"]]) {
      expect(await api("config", "get", ...args)).toEqual({ code: 0, out: "2\n", err: "" });
      expect(last()?.url).toBe("/v1/config/workers");
    }
  });

  it("percent-encodes the pointer's tokens", async () => {
    expect((await api("config", "get", "/local-data/addresses/a b.example")).out).toContain("192.0.2.1");
  });

  it("prints YAML with --yaml too", async () => {
    expect((await api("config", "get", "--yaml", "-p", "/network")).out).toBe(
      "listen:\n  - interface: 127.0.0.1@53\n",
    );
  });

  it("refuses --json with --yaml", async () => {
    const r = await api("config", "get", "--json", "--yaml");
    expect(r.code).toBe(1);
    expect(r.err).toContain("Arguments json and yaml are mutually exclusive");
  });

  it("saves to FILE and says so; a FILE path is not taken for a pointer", async () => {
    const file = path.join(fake.dir, "network.yaml");
    expect(await api("config", "get", "--yaml", "-p", "/network", file)).toEqual({
      code: 0,
      out: `saved to: ${file}\n`,
      err: "",
    });
    expect(fs.readFileSync(file, "utf8")).toBe("listen:\n  - interface: 127.0.0.1@53\n");
    const whole = path.join(fake.dir, "whole.json");
    expect((await api("config", "get", "--json", whole)).code).toBe(0);
    expect(last()?.url).toBe("/v1/config");
    expect(JSON.parse(fs.readFileSync(whole, "utf8"))).toEqual(CONFIG);
    expect((await api("config", "get", "/network", path.join(fake.dir, "n.json"))).code).toBe(0);
    expect(last()?.url).toBe("/v1/config/network");
  });

  it("prints the manager's error for an unknown pointer, exit 1", async () => {
    expect(await api("config", "get", "-p", "/nope")).toEqual({
      code: 1,
      out: "",
      err: "kresctl: no such configuration path: /nope: not found\n",
    });
  });
});

describe("kresctl config set", () => {
  it("PUTs the value given as an argument, parsed as JSON/YAML, and prints the new value", async () => {
    expect(await api("config", "set", "-p", "/workers", "3")).toEqual({ code: 0, out: "3\n", err: "" });
    expect(last()).toMatchObject({ method: "PUT", url: "/v1/config/workers", body: "3" });
    expect(await api("config", "set", "/workers", "3")).toEqual({ code: 0, out: "3\n", err: "" });
    expect(last()).toMatchObject({ method: "PUT", url: "/v1/config/workers", body: "3" });
    expect(last()?.contentType).toBe("application/json");
    await api("config", "set", "-p", "/network", "{listen: [{interface: 127.0.0.1@5353}]}");
    expect(JSON.parse(last()?.body ?? "")).toEqual({ listen: [{ interface: "127.0.0.1@5353" }] });
  });

  it("sends a string value as JSON too (as text it would be refused on the TCP interface)", async () => {
    await api("config", "set", "/logging/level", "info");
    expect(last()).toMatchObject({ body: '"info"', contentType: "application/json" });
  });

  it("reads the value from --file, from a file argument, or from standard input", async () => {
    const file = path.join(fake.dir, "workers.yaml");
    fs.writeFileSync(file, "4\n");
    expect((await api("config", "set", "-p", "/workers", "--file", file)).out).toBe("4\n");
    expect((await api("config", "set", "-p", "/workers", file)).out).toBe("4\n");
    expect((await kresctl(["-s", fake.socket, "config", "set", "/workers"], { stdin: "5\n" })).out).toBe(
      "5\n",
    );
    expect((await kresctl(["-s", fake.socket, "config", "set", "/workers", "-"], { stdin: "6" })).out).toBe(
      "6\n",
    );
  });

  it("replaces the whole configuration without a pointer", async () => {
    const file = path.join(fake.dir, "new.yaml");
    fs.writeFileSync(file, "workers: 1\n");
    expect((await api("config", "set", file)).code).toBe(0);
    expect(last()).toMatchObject({ method: "PUT", url: "/v1/config", body: '{"workers":1}' });
  });

  it("prints the manager's refusal with its details on stderr, exit 1", async () => {
    expect(await api("config", "set", "/rundir", "/tmp")).toEqual({
      code: 1,
      out: "",
      err: "kresctl: the configuration is invalid\n  /rundir: cannot be changed at run time\n",
    });
  });

  it("refuses an empty or unparsable value and two values, sending nothing", async () => {
    for (const [args, stdin, message] of [
      [["config", "set", "/workers"], "", "config set: the new value is empty"],
      [["config", "set", "/workers", "[1"], "", "the new value is not valid JSON or YAML"],
      [
        ["config", "set", "/local-data"],
        `s: &s "${"x".repeat(1_000_000)}"\nl: [${Array(20).fill("*s").join(", ")}]`,
        "config set: the new value stands for more than 16777216 bytes (16 MiB) of JSON text once YAML aliases are expanded",
      ],
      [["config", "set", "/workers", "1", "--file", "x"], "", "either as an argument or with --file"],
      [["config", "set", "-p", "/workers", "1", "2"], "", "config set: unexpected argument '2'"],
    ] as [string[], string, string][]) {
      const r = await kresctl(["-s", fake.socket, ...args], { stdin });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.err).toContain(message);
    }
    expect(fake.seen).toEqual([]);
  });
});

describe("kresctl config delete", () => {
  it("DELETEs at the pointer (-p as upstream, or an argument) and prints nothing", async () => {
    expect(await api("config", "delete", "/local-data/addresses/x.example")).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    expect(last()).toMatchObject({ method: "DELETE", url: "/v1/config/local-data/addresses/x.example" });
    expect(await api("config", "delete", "-p", "/local-data/addresses/x.example")).toEqual({
      code: 0,
      out: "",
      err: "",
    });
    expect((await api("config", "delete", "--path", "/local-data/addresses/x.example")).code).toBe(0);
  });

  it("refuses to run without a pointer", async () => {
    expect((await api("config", "delete")).err).toContain("say what to remove");
    expect(fake.seen).toEqual([]);
  });
});

describe("kresctl config", () => {
  it("without an operation prints the usage and exits 1", async () => {
    const r = await api("config");
    expect(r.code).toBe(1);
    expect(r.err).toContain("kresctl config get [pointer] [file]");
    expect(r.err.trimEnd().split("\n").pop()).toBe("Say which operation: get, set or delete.");
  });
});

describe("kresctl reload / stop", () => {
  it("POST /reload, /reload/force and /stop, printing nothing on success", async () => {
    expect(await api("reload")).toEqual({ code: 0, out: "", err: "" });
    expect(await api("reload", "--force")).toEqual({ code: 0, out: "", err: "" });
    expect(await api("stop")).toEqual({ code: 0, out: "", err: "" });
    expect(fake.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
      "GET /",
      "POST /reload",
      "GET /",
      "POST /reload/force",
      "POST /stop",
    ]);
  });
});

describe("kresctl reload when the running config has unpersisted changes", () => {
  let unpersisted: FakeManager;
  beforeAll(async () => {
    unpersisted = await FakeManager.start({
      "GET /": { json: { status: "RUNNING", "unpersisted-changes": true } },
      "POST /reload": { json: { changed: true, etag: "e3" } },
    });
  });
  afterAll(() => unpersisted.stop());
  beforeEach(() => unpersisted.seen.splice(0));
  const requests = () => unpersisted.seen.map((s) => `${s.method} ${s.url}`);
  const reload = (args: string[], confirm?: (q: string) => Promise<boolean>) =>
    kresctl(["-s", unpersisted.socket, "reload", ...args], confirm ? { confirm } : {});

  it("from a script (no terminal): warns on stderr naming --yes, then reloads as before", async () => {
    const r = await reload([]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/not in the config files.*reloading drops them.*--yes/);
    expect(requests()).toEqual(["GET /", "POST /reload"]);
  });

  it("on a terminal: asks, and reloads only on yes", async () => {
    const questions: string[] = [];
    const no = await reload([], async (q) => (questions.push(q), false));
    expect(no.code).toBe(1);
    expect(no.err).toMatch(/reload cancelled; nothing changed/);
    expect(requests()).toEqual(["GET /"]);
    expect(questions[0]).toMatch(/reloading drops them\. Reload\?$/);
    const yes = await reload([], async () => true);
    expect(yes).toEqual({ code: 0, out: "", err: "" });
    expect(requests()).toEqual(["GET /", "GET /", "POST /reload"]);
  });

  it("with --yes: neither asks nor warns", async () => {
    const r = await reload(["--yes"], async () => {
      throw new Error("asked");
    });
    expect(r).toEqual({ code: 0, out: "", err: "" });
    expect(requests()).toEqual(["POST /reload"]);
  });
});

describe("kresctl config set/delete --persist", () => {
  it("adds ?persist=true, or ?persist=false for --no-persist, and nothing without either", async () => {
    const persisting = await FakeManager.start({
      "PUT /v1/config/workers?persist=true": (seen) => ({ json: JSON.parse(seen.body) }),
      "PUT /v1/config/workers?persist=false": (seen) => ({ json: JSON.parse(seen.body) }),
      "DELETE /v1/config/nsid?persist=true": { status: 200 },
    });
    try {
      const run = (...args: string[]) => kresctl(["-s", persisting.socket, ...args]);
      expect(await run("config", "set", "--persist", "-p", "/workers", "3")).toEqual({
        code: 0,
        out: "3\n",
        err: "",
      });
      expect((await run("config", "set", "--no-persist", "/workers", "4")).code).toBe(0);
      expect((await run("config", "delete", "--persist", "-p", "/nsid")).code).toBe(0);
      expect(persisting.seen.map((s) => `${s.method} ${s.url}`)).toEqual([
        "PUT /v1/config/workers?persist=true",
        "PUT /v1/config/workers?persist=false",
        "DELETE /v1/config/nsid?persist=true",
      ]);
    } finally {
      await persisting.stop();
    }
  });
});

describe("kresctl schema --live", () => {
  it("prints the running manager's schema (GET /schema) as JSON, or writes it to -o FILE", async () => {
    const r = await api("schema", "--live");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ live: true });
    const file = path.join(fake.dir, "schema.json");
    expect(await api("schema", "-l", "-o", file)).toEqual({ code: 0, out: "", err: "" });
    expect(JSON.parse(fs.readFileSync(file, "utf8"))).toMatchObject({ live: true });
  });
});

describe("kresctl metrics", () => {
  it("prints GET /metrics/json as indented JSON", async () => {
    const r = await api("metrics");
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse(r.out)).toEqual({ "kresd:kresd0": { answer: { total: 1 } } });
    expect(last()?.url).toBe("/metrics/json");
  });

  it("prints GET /metrics/prometheus as is with --prometheus, or writes it to FILE", async () => {
    const r = await api("metrics", "--prometheus");
    expect(r.out).toBe(
      '# TYPE resolver_answer_total counter\nresolver_answer_total{instance_id="kresd:kresd0"} 1\n',
    );
    const file = path.join(fake.dir, "metrics.prom");
    expect(await api("metrics", "--prometheus", file)).toEqual({ code: 0, out: "", err: "" });
    expect(fs.readFileSync(file, "utf8")).toBe(r.out);
  });
});

describe("kresctl cache clear", () => {
  it("POSTs the criteria to /cache/clear and prints the answer (YAML by default, --json)", async () => {
    const r = await api("cache", "clear", "--json", "--exact-name", "--rr-type", "AAAA", "example.com.");
    expect(r).toEqual({
      code: 0,
      out: JSON.stringify({ count: 3, name: "example.com." }, null, 4) + "\n",
      err: "",
    });
    expect(JSON.parse(last()?.body ?? "")).toEqual({
      name: "example.com.",
      "exact-name": true,
      "rr-type": "AAAA",
      "chunk-size": 100,
    });
    expect(await api("cache", "clear", "--chunk-size", "10")).toEqual({
      code: 0,
      out: "count: 3\n",
      err: "",
    });
    expect(JSON.parse(last()?.body ?? "")).toEqual({ "exact-name": false, "chunk-size": 10 });
  });

  it("prints the manager's 400 with its details, exit 1", async () => {
    expect(await api("cache", "clear", "refused.example.")).toEqual({
      code: 1,
      out: "",
      err: "kresctl: invalid cache clear request\n  /name: refused\n",
    });
  });

  it("checks the request first, as upstream, naming the option at fault and sending nothing", async () => {
    const cases: [string[], string][] = [
      [["--exact-name", "--rr-type", "BOGUS", "x."], "--rr-type: 'BOGUS' is not an RR type kresd knows"],
      [["--rr-type", "AAAA", "x."], "--rr-type: 'rr-type' is only supported with 'exact-name: true'"],
      [["--exact-name"], "NAME: a name is required with 'exact-name: true'"],
      [["not a name!"], "NAME: 'not a name!' is not a valid domain name"],
      [["--chunk-size", "0"], "--chunk-size: must be at least 1"],
      [["--chunk-size", "1.5"], "--chunk-size: expected an integer"],
      [["--chunk-size", "many"], "--chunk-size: "],
    ];
    for (const [args, message] of cases) {
      const r = await api("cache", "clear", ...args);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 1, out: "" });
      expect(r.err).toContain(`kresctl: cache clear: ${message}`);
      expect(r.err.trimEnd().split("\n")).toHaveLength(1);
    }
    expect(fake.seen).toEqual([]);
  });
});

describe("kresctl pids", () => {
  it("prints one PID per line for all processes (the default), kresd or gc", async () => {
    expect((await api("pids")).out).toBe("300\n100\n101\n50\n");
    expect((await api("pids", "kresd")).out).toBe("100\n101\n");
    expect((await api("pids", "gc")).out).toBe("300\n");
    expect(fake.seen.map((s) => s.url)).toEqual(["/processes/all", "/processes/kresd", "/processes/gc"]);
  });

  it("prints the rows as JSON with --json", async () => {
    expect(JSON.parse((await api("pids", "kresd", "--json")).out)).toEqual(
      PROCESSES.filter((p) => p.type === "kresd"),
    );
  });

  it("refuses an unknown process type", async () => {
    const r = await api("pids", "workers");
    expect(r.code).toBe(1);
    expect(r.err).toContain("Invalid values");
  });
});

describe("kresctl debug --print-only", () => {
  const gdb = "/usr/bin/gdb";

  it("prints the gdb command line attaching every kresd worker, one inferior each", async () => {
    const r = await api("debug", "--print-only", "--gdb", gdb);
    expect(r).toMatchObject({ code: 0, err: "" });
    expect(r.out).toBe(
      [
        gdb,
        "-init-eval-command",
        "'set detach-on-fork off'",
        "-init-eval-command",
        "'set schedule-multiple on'",
        "-init-eval-command",
        "'attach 100'",
        "-init-eval-command",
        "add-inferior",
        "-init-eval-command",
        "'inferior 2'",
        "-init-eval-command",
        "'attach 101'",
        "-init-eval-command",
        "'inferior 1'",
        "-init-eval-command",
        "'echo \\n\\nYou are now debugging 2 Knot Resolver processes. To switch between them, use '\\''inferior <n>'\\'' with <n> from 1 to 2.\\n\\n'",
      ].join(" ") + "\n",
    );
    expect(last()?.url).toBe("/processes/kresd");
  });

  it("takes PIDs instead (without asking the manager), gc or all (never the manager itself), and passes args after --", async () => {
    const pidsOnly = await kresctl([
      "-s",
      "/nonexistent.sock",
      "debug",
      "--print-only",
      "--gdb",
      gdb,
      "42",
      "--",
      "-batch",
    ]);
    expect(pidsOnly.out).toBe(
      `${gdb} -init-eval-command 'set detach-on-fork off' -init-eval-command 'set schedule-multiple on' -init-eval-command 'attach 42' -batch\n`,
    );
    expect((await api("debug", "--print-only", "gc")).out).toContain("'attach 300'");
    const all = (await api("debug", "--print-only", "all")).out;
    expect(all.match(/'attach \d+'/g)).toEqual(["'attach 300'", "'attach 100'", "'attach 101'"]);
  });

  it("finds gdb on $PATH by default, and says when it cannot", async () => {
    expect((await api("debug", "--print-only")).out).toMatch(/^\/\S*gdb /);
    const missing = await kresctl(["-s", fake.socket, "debug", "--print-only"], { env: { PATH: fake.dir } });
    expect(missing).toMatchObject({
      code: 1,
      err: "kresctl: cannot find 'gdb' on $PATH; is GDB installed?\n",
    });
    expect((await api("debug", "--gdb", "/nonexistent/gdb")).err).toBe(
      "kresctl: cannot find '/nonexistent/gdb'\n",
    );
  });

  it("refuses a target that is neither a process type nor PIDs", async () => {
    expect((await api("debug", "--print-only", "workers")).err).toContain("expected kresd, gc, all or PIDs");
  });
});

describe("an unreachable manager", () => {
  it("makes every API command exit 1 with one line naming the socket, no stack trace", async () => {
    const socket = path.join(fake.dir, "missing.sock");
    for (const args of [
      ["config", "get"],
      ["reload"],
      ["stop"],
      ["metrics"],
      ["pids"],
      ["cache", "clear"],
      ["schema", "--live"],
    ]) {
      const r = await kresctl(["-s", socket, ...args]);
      expect({ args, code: r.code, out: r.out }).toEqual({ args, code: 1, out: "" });
      expect(r.err).toBe(
        `kresctl: cannot reach the management API at unix socket ${socket} (--socket): no such socket (ENOENT); is the resolver running?\n`,
      );
    }
  });
});
