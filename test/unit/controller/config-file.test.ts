import { renderSupervisordConf, rundirFiles } from "../../../lib/controller/supervisord/config-file.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import { testRundir } from "../../../harness/validation.js";

const rundir = testRundir("krm-conf-");

const manager = { argv: ["/usr/bin/node", "/opt/krm/main.js", "-c", "/etc/k r/100%.yaml"] };

function conf(extra: Record<string, unknown> = {}): string {
  const cfg = validateConfig({ rundir, cache: { storage: rundir }, ...extra }, { strict: false });
  return renderSupervisordConf(cfg, manager);
}

/** The [section] → key → value map of a rendered file. */
function sections(text: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let cur: Map<string, string> | undefined;
  for (const line of text.split("\n")) {
    const s = /^\[(.+)\]$/.exec(line);
    if (s) out.set(s[1] as string, (cur = new Map()));
    const kv = /^(\S+) = (.*)$/.exec(line);
    if (kv && cur) cur.set(kv[1] as string, kv[2] as string);
  }
  return out;
}

describe("supervisord.conf", () => {
  it("keeps supervisord's pid file and socket in the rundir", () => {
    const s = sections(conf());
    const files = rundirFiles(rundir);
    expect(s.get("supervisord")?.get("pidfile")).toBe(files.pid);
    expect(s.get("unix_http_server")?.get("file")).toBe(files.sock);
    expect(s.get("supervisorctl")?.get("serverurl")).toBe(`unix://${files.sock}`);
  });

  it("loads all four plugins", () => {
    const s = sections(conf());
    for (const p of ["patch_logger", "manager_integration", "sd_notify", "fast"]) {
      expect(s.get(`rpcinterface:${p}`)?.get("supervisor.rpcinterface_factory")).toMatch(
        /^kres_supervisord\./,
      );
    }
  });

  it("runs the manager as a notify program, quoting its arguments and doubling '%'", () => {
    const m = sections(conf()).get("program:manager");
    expect(m?.get("command")).toBe("/usr/bin/node /opt/krm/main.js -c '/etc/k r/100%%.yaml'");
    expect(m?.get("environment")).toBe('X-SUPERVISORD-TYPE="notify"');
    expect(m?.get("autorestart")).toBe("true");
  });

  it("has max-workers + 1 kresd slots, not autostarted, each with its own Lua file", () => {
    const k = sections(conf({ "max-workers": 3 })).get("program:kresd");
    expect(k?.get("numprocs")).toBe("4");
    expect(k?.get("autostart")).toBe("false");
    expect(k?.get("process_name")).toBe("%(program_name)s%(process_num)d");
    expect(k?.get("command")).toBe(`/usr/sbin/kresd -c ${rundir}/kresd%(process_num)d.lua -n ${rundir}`);
    expect(k?.get("environment")).toContain('SYSTEMD_INSTANCE="%(process_num)d"');
  });

  it("has cache-gc with the garbage-collector's arguments, or none when it is disabled", () => {
    const gc = sections(conf()).get("program:cache-gc");
    expect(gc?.get("command")).toMatch(new RegExp(`^/usr/sbin/kres-cache-gc -c ${rundir} `));
    expect(
      sections(conf({ cache: { storage: rundir, "garbage-collector": false } })).has("program:cache-gc"),
    ).toBe(false);
  });

  it("logs where logging.target says", () => {
    expect(
      sections(conf({ logging: { target: "syslog" } }))
        .get("rpcinterface:patch_logger")
        ?.get("target"),
    ).toBe("syslog");
  });

  it("refuses a value that would span lines rather than write a broken file", () => {
    const cfg = validateConfig({ rundir, cache: { storage: rundir } }, { strict: false });
    expect(() => renderSupervisordConf(cfg, { argv: ["/bin/x", "a\nb"] })).toThrow("cannot span lines");
  });
});
