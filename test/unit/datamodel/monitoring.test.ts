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

describe("monitoring schema", () => {
  it("defaults to lazy statistics and no graphite", () => {
    expect(validateConfig({ rundir }).monitoring).toEqual({ enabled: "lazy", graphite: false });
  });

  it("accepts the three upstream modes", () => {
    for (const enabled of ["manager-only", "lazy", "always"]) {
      expect(valid({ enabled }).monitoring.enabled).toBe(enabled);
    }
  });

  it("refuses other modes, naming the value", () => {
    expect(problems({ enabled: true })).toEqual([
      {
        pointer: "/monitoring/enabled",
        message: "'true' is not a monitoring mode; expected one of manager-only, lazy, always",
      },
    ]);
  });

  it("fills graphite defaults (port 2003, empty prefix, 5s, UDP)", () => {
    expect(valid({ graphite: { host: "192.0.2.1" } }).monitoring.graphite).toEqual({
      host: "192.0.2.1",
      port: 2003,
      prefix: "",
      interval: "5s",
      tcp: false,
    });
  });

  it("takes an IPv4, IPv6 address or a domain name as graphite host", () => {
    for (const host of ["127.0.0.1", "2001:db8::1", "graphite.example.com", "carbon"]) {
      expect(valid({ graphite: { host } }).monitoring.graphite).toMatchObject({ host });
    }
  });

  it("refuses bad graphite values with precise pointers", () => {
    expect(problems({ graphite: true })).toEqual([
      { pointer: "/monitoring/graphite", message: "expected false or a graphite object" },
    ]);
    expect(problems({ graphite: {} })[0]?.pointer).toBe("/monitoring/graphite/host");
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

  it("refuses a zero graphite interval, which kresd cannot schedule", () => {
    expect(problems({ graphite: { host: "127.0.0.1", interval: "0s" } })).toEqual([
      {
        pointer: "/monitoring/graphite/interval",
        message: "'0s' is too short: kresd needs a period of at least 1ms",
      },
    ]);
  });

  it("refuses unknown keys", () => {
    expect(problems({ metrics: "always" })).toEqual([
      { pointer: "/monitoring/metrics", message: "unknown key" },
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
    const cfg = valid({ enabled: "always" });
    expect(renderMonitoring(cfg)).toBe(`modules.load("stats")\n${COLLECT_FN}`);
    expect(statisticsQuery(cfg)).toBe("tojson(collect_statistics())");
  });

  it("manager-only: nothing in the workers, and nothing for the manager to ask", () => {
    const cfg = valid({ enabled: "manager-only" });
    expect(renderMonitoring(cfg)).toBe("");
    expect(statisticsQuery(cfg)).toBeUndefined();
    expect(metricValuesQuery(cfg)).toBeUndefined();
  });

  it("graphite: loads the module and configures it, interval in milliseconds", () => {
    const lua = renderMonitoring(
      valid({
        enabled: "manager-only",
        graphite: { host: "192.0.2.1", port: 2004, interval: "1m", tcp: true },
      }),
    );
    expect(lua).toBe(
      'modules.load("graphite")\n' +
        'graphite.config({host = "192.0.2.1", port = 2004, interval = 60000, tcp = true})',
    );
  });

  it("graphite: a prefix gets the worker ID appended; a unicode host goes out as punycode", () => {
    const lua = renderMonitoring(valid({ graphite: { host: "bücher.example", prefix: "dns.resolver" } }));
    expect(lua).toContain(
      'graphite.config({host = "xn--bcher-kva.example", port = 2003, interval = 5000, tcp = false, prefix = "dns.resolver." .. worker.id})',
    );
  });

  it("keeps hostile prefixes inside one escaped Lua string", () => {
    for (const s of hostileStrings(60).filter((x) => !x.includes("\0"))) {
      const lua = renderMonitoring(
        valid({ enabled: "manager-only", graphite: { host: "127.0.0.1", prefix: s } }),
      );
      expect(lua).toContain(`prefix = ${luaStr(`${s}.`)} .. worker.id})`);
      expect(lua.split("\n")).toHaveLength(2);
    }
  });
});
