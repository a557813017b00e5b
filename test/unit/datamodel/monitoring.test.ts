import { validateConfig } from "../../../lib/datamodel/load.js";
import {
  COLLECT_STATISTICS_FN,
  renderMonitoring,
  statisticsQuery,
  METRIC_KEYS,
  metricValuesQuery,
} from "../../../lib/datamodel/sections/monitoring/render.js";
import { luaStr } from "../../../lib/utils/lua-literal.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";
import { section, testRundir } from "../../../harness/validation.js";

const rundir = testRundir("kres-monitoring-");
const { valid, problems } = section("monitoring", { rundir });

const COLLECT_FN = [
  "function collect_statistics()",
  '\tif stats == nil then modules.load("stats") end',
  "\treturn stats.list()",
  "end",
  `local collect_metric_values_keys = {${METRIC_KEYS.map((k) => `"${k}"`).join(", ")}}`,
  "function collect_metric_values()",
  "\tlocal s, out = collect_statistics(), {}",
  "\tfor i, k in ipairs(collect_metric_values_keys) do out[i] = s[k] or '-' end",
  "\treturn table.concat(out, ' ')",
  "end",
].join("\n");

const GRAPHITE_OFF = { enable: false, port: 2003, prefix: "", interval: "5s", tcp: false };
const MIGRATE = "'kresctl migrate' rewrites a 6.0 configuration into the current shape";

describe("monitoring schema (Knot Resolver 6.4)", () => {
  it("defaults to lazy metrics and graphite off", () => {
    expect(validateConfig({ rundir }).monitoring).toEqual({ metrics: "lazy", graphite: GRAPHITE_OFF });
  });

  it("accepts the three upstream metrics modes", () => {
    for (const metrics of ["manager-only", "lazy", "always"]) {
      expect(valid({ metrics }).monitoring.metrics).toBe(metrics);
    }
  });

  it("refuses other modes, naming the value", () => {
    expect(problems({ metrics: true })).toEqual([
      {
        pointer: "/monitoring/metrics",
        message: "'true' is not a metrics mode; expected one of manager-only, lazy, always",
      },
    ]);
  });

  it("keeps graphite with a host but without enable off, as upstream (6.0 read the object as on)", () => {
    const cfg = valid({ graphite: { host: "192.0.2.1" } });
    expect(cfg.monitoring.graphite).toEqual({ ...GRAPHITE_OFF, host: "192.0.2.1" });
    expect(renderMonitoring(cfg)).not.toContain("graphite");
  });

  it("fills graphite defaults (port 2003, empty prefix, 5s, UDP)", () => {
    expect(valid({ graphite: { enable: true, host: "192.0.2.1" } }).monitoring.graphite).toEqual({
      ...GRAPHITE_OFF,
      enable: true,
      host: "192.0.2.1",
    });
  });

  it("takes an IPv4, IPv6 address or a domain name as graphite host, or null", () => {
    for (const host of ["127.0.0.1", "2001:db8::1", "graphite.example.com", "carbon"]) {
      expect(valid({ graphite: { enable: true, host } }).monitoring.graphite).toMatchObject({ host });
    }
    expect(valid({ graphite: { host: null } }).monitoring.graphite).toEqual(GRAPHITE_OFF);
  });

  it("refuses the 6.0.x spellings, naming the 6.4 one and kresctl migrate", () => {
    expect(problems({ enabled: "always" })).toEqual([
      {
        pointer: "/monitoring/enabled",
        message: `renamed to 'monitoring/metrics' in Knot Resolver 6.x; ${MIGRATE}`,
      },
    ]);
    expect(problems({ graphite: false })).toEqual([
      {
        pointer: "/monitoring/graphite",
        message: `expected an object; 'graphite: false' is the Knot Resolver 6.0 spelling of 'graphite: {enable: false}'; ${MIGRATE}`,
      },
    ]);
  });

  it("refuses bad graphite values with precise pointers", () => {
    expect(problems({ graphite: "x" })).toEqual([
      { pointer: "/monitoring/graphite", message: "expected an object of graphite settings" },
    ]);
    expect(problems({ graphite: { enable: true } })).toEqual([
      {
        pointer: "/monitoring/graphite/host",
        message: "'host' has to be configured to enable the graphite bridge",
      },
    ]);
    expect(problems({ graphite: { host: "not a host!" } })[0]?.pointer).toBe("/monitoring/graphite/host");
    expect(problems({ graphite: { host: "127.0.0.1", port: 0 } })).toEqual([
      { pointer: "/monitoring/graphite/port", message: "must be at least 1" },
    ]);
    expect(problems({ graphite: { host: "127.0.0.1", interval: 5 } })[0]?.pointer).toBe(
      "/monitoring/graphite/interval",
    );
    expect(problems({ graphite: { host: "127.0.0.1", tcp: "yes" } })[0]?.pointer).toBe(
      "/monitoring/graphite/tcp",
    );
    expect(problems({ graphite: { host: "127.0.0.1", prefix: "a\0b" } })).toEqual([
      { pointer: "/monitoring/graphite/prefix", message: "must not contain a NUL character" },
    ]);
    expect(problems({ graphite: { host: "127.0.0.1", colour: 1 } })).toEqual([
      { pointer: "/monitoring/graphite/colour", message: "unknown key" },
    ]);
  });

  it("refuses a zero interval for an enabled graphite, which kresd 5.6 cannot schedule", () => {
    expect(problems({ graphite: { enable: true, host: "127.0.0.1", interval: "0s" } })).toEqual([
      {
        pointer: "/monitoring/graphite/interval",
        message: "not supported by kresd 5.6: its graphite module needs a period of at least 1ms, got '0s'",
      },
    ]);
  });
});

describe("monitoring Lua", () => {
  it("lazy (default): defines the collector, which loads stats on first use", () => {
    const cfg = validateConfig({ rundir });
    expect(renderMonitoring(cfg)).toBe(COLLECT_FN);
    expect(statisticsQuery(cfg)).toBe(`tojson(${COLLECT_STATISTICS_FN}())`);
    expect(metricValuesQuery(cfg)).toBe("collect_metric_values()");
  });

  it("always: loads stats at start and defines the collector", () => {
    const cfg = valid({ metrics: "always" });
    expect(renderMonitoring(cfg)).toBe(`modules.load("stats")\n${COLLECT_FN}`);
    expect(statisticsQuery(cfg)).toBe("tojson(collect_statistics())");
  });

  it("manager-only: nothing in the workers, and nothing for the manager to ask", () => {
    const cfg = valid({ metrics: "manager-only" });
    expect(renderMonitoring(cfg)).toBe("");
    expect(statisticsQuery(cfg)).toBeUndefined();
    expect(metricValuesQuery(cfg)).toBeUndefined();
  });

  it("graphite: loads the module and configures it, interval in milliseconds", () => {
    const lua = renderMonitoring(
      valid({
        metrics: "manager-only",
        graphite: { enable: true, host: "192.0.2.1", port: 2004, interval: "1m", tcp: true },
      }),
    );
    expect(lua).toBe(
      'modules.load("graphite")\n' +
        'graphite.config({host = "192.0.2.1", port = 2004, interval = 60000, tcp = true})',
    );
  });

  it("graphite: a prefix gets the worker ID appended; a unicode host goes out as punycode", () => {
    const lua = renderMonitoring(
      valid({ graphite: { enable: true, host: "bücher.example", prefix: "dns.resolver" } }),
    );
    expect(lua).toContain(
      'graphite.config({host = "xn--bcher-kva.example", port = 2003, interval = 5000, tcp = false, prefix = "dns.resolver." .. worker.id})',
    );
  });

  it("keeps hostile prefixes inside one escaped Lua string", () => {
    for (const s of hostileStrings(60).filter((x) => !x.includes("\0"))) {
      const lua = renderMonitoring(
        valid({ metrics: "manager-only", graphite: { enable: true, host: "127.0.0.1", prefix: s } }),
      );
      expect(lua).toContain(`prefix = ${luaStr(`${s}.`)} .. worker.id})`);
      expect(lua.split("\n")).toHaveLength(2);
    }
  });
});
