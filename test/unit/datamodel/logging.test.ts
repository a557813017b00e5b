import * as path from "node:path";
import { validateConfig } from "../../../lib/datamodel/load.js";
import {
  KRESD_LOG_GROUPS,
  LOG_GROUPS,
  LOGGING_TARGET_ENV,
  MANAGER_LOG_GROUPS,
  PROCESS_LOG_GROUPS,
  kresdLogGroups,
} from "../../../lib/datamodel/sections/logging/schema.js";
import { renderLogging } from "../../../lib/datamodel/sections/logging/render.js";
import { luaStr } from "../../../lib/utils/lua-literal.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-logging-");

const savedEnv = process.env[LOGGING_TARGET_ENV];
beforeEach(() => {
  delete process.env[LOGGING_TARGET_ENV];
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env[LOGGING_TARGET_ENV];
  else process.env[LOGGING_TARGET_ENV] = savedEnv;
});

const { valid, problems } = section("logging", { rundir, ctx: { strict: true } });

const DNSTAP_OFF = { enable: false, "log-queries": false, "log-responses": false, "log-tcp-rtt": false };
const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

describe("logging schema (Knot Resolver 6.4)", () => {
  it("defaults to notice level on stdout, no groups, dnstap off", () => {
    const cfg = validateConfig({ rundir });
    expect(cfg.logging).toEqual({ level: "notice", target: "stdout", groups: undefined, dnstap: DNSTAP_OFF });
  });

  it("accepts every upstream level and target", () => {
    for (const level of ["crit", "err", "warning", "notice", "info", "debug"]) {
      expect(valid({ level }).logging.level).toBe(level);
    }
    for (const target of ["stdout", "stderr", "syslog"]) {
      expect(valid({ target }).logging.target).toBe(target);
    }
  });

  it("resolves target 'from-env' (the default) from $KRES_LOGGING_TARGET, else stdout", () => {
    process.env[LOGGING_TARGET_ENV] = "syslog";
    expect(valid({}).logging.target).toBe("syslog");
    expect(valid({ target: "from-env" }).logging.target).toBe("syslog");
    expect(valid({ target: "stderr" }).logging.target).toBe("stderr");
    process.env[LOGGING_TARGET_ENV] = "";
    expect(valid({ target: "from-env" }).logging.target).toBe("stdout");
  });

  it("refuses an invalid $KRES_LOGGING_TARGET with a pointer to /logging/target", () => {
    process.env[LOGGING_TARGET_ENV] = "journal";
    expect(problems({})).toEqual([
      {
        pointer: "/logging/target",
        message:
          "logging target 'journal' read from $KRES_LOGGING_TARGET is invalid; expected one of syslog, stderr, stdout",
      },
    ]);
  });

  it("refuses unknown levels and targets, naming the value", () => {
    expect(problems({ level: "verbose" })).toEqual([
      {
        pointer: "/logging/level",
        message: "'verbose' is not a logging level; expected one of crit, err, warning, notice, info, debug",
      },
    ]);
    expect(problems({ target: "file" })).toEqual([
      {
        pointer: "/logging/target",
        message: "'file' is not a logging target; expected one of syslog, stderr, stdout or from-env",
      },
    ]);
  });

  it("accepts every upstream group kresd 5.6 knows, and the process and manager ones", () => {
    expect(PROCESS_LOG_GROUPS).toEqual(["manager", "supervisord", "policy-loader", "kresd", "cache-gc"]);
    expect(MANAGER_LOG_GROUPS).toEqual(["files", "metrics", "server"]);
    const groups = [...PROCESS_LOG_GROUPS, ...MANAGER_LOG_GROUPS, ...KRESD_LOG_GROUPS];
    expect(valid({ groups }).logging.groups).toEqual(groups);
    expect(valid({ groups: [] }).logging.groups).toEqual([]);
    expect(valid({ groups: null }).logging.groups).toBeUndefined();
  });

  it("refuses an unknown group with a pointer to its index", () => {
    expect(problems({ groups: ["io", "nonsense"] })).toEqual([
      { pointer: "/logging/groups/1", message: "'nonsense' is not a known logging group" },
    ]);
    expect(problems({ groups: "io" })).toEqual([
      { pointer: "/logging/groups", message: "expected a list of logging groups" },
    ]);
  });

  it("refuses a duplicate group at the index of the repetition, as upstream", () => {
    expect(problems({ groups: ["io", "cache", "io"] })).toEqual([
      { pointer: "/logging/groups/2", message: "duplicate logging group 'io' on index 2" },
    ]);
  });

  it("refuses the Knot Resolver 6 groups that kresd 5.6 does not have", () => {
    expect(LOG_GROUPS).toEqual(expect.arrayContaining(["rules", "prlayr", "defer", "doq", "ngtcp2"]));
    const found = problems({ groups: ["io", "rules", "prlayr", "defer", "doq", "ngtcp2"] });
    expect(found.map((p) => p.pointer)).toEqual([
      "/logging/groups/1",
      "/logging/groups/2",
      "/logging/groups/3",
      "/logging/groups/4",
      "/logging/groups/5",
    ]);
    for (const p of found)
      expect(p.message).toMatch(/^not supported by kresd 5\.6: it has no logging group '/);
  });

  it("refuses the 6.0.x keys, naming the 6.4 spelling and kresctl migrate", () => {
    expect(problems({ "dnssec-bogus": true })).toEqual([
      {
        pointer: "/logging/dnssec-bogus",
        message: `renamed to 'dnssec/log-bogus' in Knot Resolver 6.x; ${MIGRATE}`,
      },
    ]);
    expect(problems({ debugging: { "assertion-abort": true } })).toEqual([
      {
        pointer: "/logging/debugging",
        message: `removed in Knot Resolver 6.x (kresd's defaults apply); ${MIGRATE}`,
      },
    ]);
    expect(problems({ dnstap: false })).toEqual([
      {
        pointer: "/logging/dnstap",
        message: `expected an object; 'dnstap: false' is the Knot Resolver 6.0 spelling of 'dnstap: {enable: false}'; ${MIGRATE}`,
      },
    ]);
  });

  it("takes dnstap with enable, a writable socket path and upstream's defaults (all off)", () => {
    const sock = path.join(rundir, "dnstap.sock");
    expect(valid({ dnstap: { enable: true, "unix-socket": sock } }).logging.dnstap).toEqual({
      ...DNSTAP_OFF,
      enable: true,
      "unix-socket": sock,
    });
    expect(valid({ dnstap: { "unix-socket": null } }).logging.dnstap).toEqual(DNSTAP_OFF);
  });

  it("keeps dnstap with a socket but without enable off, as upstream (6.0 read the object as on)", () => {
    const cfg = valid({ dnstap: { "unix-socket": path.join(rundir, "dnstap.sock"), "log-queries": true } });
    expect(cfg.logging.dnstap.enable).toBe(false);
    expect(renderLogging(cfg)).not.toContain("dnstap");
  });

  it("resolves a relative dnstap socket path against the config's directory", () => {
    const cfg = validateConfig(
      { rundir, logging: { dnstap: { enable: true, "unix-socket": "tap.sock" } } },
      { baseDir: rundir },
    );
    expect(cfg.logging.dnstap).toMatchObject({ "unix-socket": path.join(rundir, "tap.sock") });
  });

  it("refuses bad dnstap values with precise pointers", () => {
    expect(problems({ dnstap: "on" })).toEqual([
      { pointer: "/logging/dnstap", message: "expected an object of dnstap settings" },
    ]);
    expect(problems({ dnstap: { enable: true } })).toEqual([
      {
        pointer: "/logging/dnstap/unix-socket",
        message: "DNS queries logging enabled, but 'unix-socket' not specified",
      },
    ]);
    expect(problems({ dnstap: { "unix-socket": "/nonexistent-dir/x.sock" } })).toEqual([
      {
        pointer: "/logging/dnstap/unix-socket",
        message: "'/nonexistent-dir/x.sock' does not point inside an existing directory",
      },
    ]);
    expect(problems({ dnstap: { "unix-socket": "/tmp/x.sock", "log-queries": 1 } })[0]?.pointer).toBe(
      "/logging/dnstap/log-queries",
    );
    expect(problems({ dnstap: { "unix-socket": "/tmp/x.sock", extra: 1 } })).toEqual([
      { pointer: "/logging/dnstap/extra", message: "unknown key" },
    ]);
  });

  it("refuses unknown keys", () => {
    expect(problems({ colour: true })).toEqual([{ pointer: "/logging/colour", message: "unknown key" }]);
  });
});

describe("logging Lua", () => {
  it("renders level and target", () => {
    expect(renderLogging(validateConfig({ rundir }))).toBe(
      ['log_level("notice")', 'log_target("stdout")'].join("\n"),
    );
  });

  it("puts kresd at the debug level with the 'kresd' group, as upstream", () => {
    const lua = renderLogging(valid({ level: "warning", groups: ["kresd", "policy-loader", "files"] }));
    expect(lua).toBe(['log_level("debug")', 'log_target("stdout")'].join("\n"));
  });

  it("passes only kresd's groups to log_groups(), keeping manager-side groups out", () => {
    const cfg = valid({ level: "debug", target: "stderr", groups: ["manager", "io", "cache-gc", "plan"] });
    expect(kresdLogGroups(cfg.logging)).toEqual(["io", "plan"]);
    const lua = renderLogging(cfg);
    expect(lua).toContain('log_level("debug")');
    expect(lua).toContain('log_target("stderr")');
    expect(lua).toContain('log_groups({"io", "plan"})');
    expect(lua).not.toContain("manager");
  });

  it("renders no log_groups() when only manager-side groups are set", () => {
    expect(renderLogging(valid({ groups: ["manager", "supervisord"] }))).not.toContain("log_groups");
  });

  it("loads and configures dnstap when enabled", () => {
    const sock = path.join(rundir, "dnstap.sock");
    const lua = renderLogging(
      valid({ dnstap: { enable: true, "unix-socket": sock, "log-queries": true, "log-responses": true } }),
    );
    expect(lua).toContain(
      `modules.load("dnstap")\ndnstap.config({socket_path = ${luaStr(sock)}, client = {log_queries = true, log_responses = true, log_tcp_rtt = false}})`,
    );
  });

  it("keeps hostile socket paths inside one escaped Lua string", () => {
    for (const s of hostileStrings(60).filter((h) => !h.includes("\0"))) {
      const cfg = validateConfig(
        { rundir, logging: { dnstap: { enable: true, "unix-socket": `/x/${s}` } } },
        { strict: false },
      );
      const sock = cfg.logging.dnstap["unix-socket"] as string;
      const lua = renderLogging(cfg);
      expect(lua).toContain(`socket_path = ${luaStr(sock)},`);
      expect(lua.split("\n")).toHaveLength(4);
    }
  });
});
