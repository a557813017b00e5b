import {
  renderSupervisordConf,
  replacedPrograms,
  rundirFiles,
} from "../../../lib/controller/supervisord/config-file.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import * as fs from "node:fs";
import * as path from "node:path";
import { KRESD } from "../../../lib/controller/supervisord/config-file.js";
import { REPO_ROOT, run } from "../../../harness/repo.js";
import { tmpDir } from "../../../harness/tmp.js";
import { WORKERS_MAX } from "../../../lib/datamodel/config.js";
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
    expect(m?.get("command")).toBe("/usr/bin/node /opt/krm/main.js -c /etc/k\\ r/100%%.yaml");
    expect(m?.get("environment")).toBe('X-SUPERVISORD-TYPE="notify"');
    expect(m?.get("autorestart")).toBe("true");
  });

  it("has a kresd slot per possible worker and one for the canary, whatever the config, not autostarted, each with its own Lua file", () => {
    const k = sections(conf({ workers: 3 })).get("program:kresd");
    expect(k?.get("numprocs")).toBe(String(WORKERS_MAX + 1));
    expect(sections(conf({ workers: 1 })).get("program:kresd")).toEqual(k);
    expect(k?.get("autostart")).toBe("false");
    expect(k?.get("process_name")).toBe("%(program_name)s%(process_num)d");
    expect(k?.get("command")).toBe(`/usr/sbin/kresd -c ${rundir}/kresd%(process_num)d.lua -n ${rundir}`);
    expect(k?.get("environment")).toContain('SYSTEMD_INSTANCE="%(process_num)d"');
  });

  it("lists only kresd slots that were ever started (supervisorctl status)", () => {
    const rpc = sections(conf()).get("rpcinterface:supervisor");
    expect(rpc?.get("supervisor.rpcinterface_factory")).toBe(
      "kres_supervisord.fast_rpcinterface:make_supervisor_rpcinterface",
    );
    expect(rpc?.get("hide_unstarted")).toBe("kresd");
  });

  it("has cache-gc with the garbage-collector's arguments, or none when it is disabled", () => {
    const gc = sections(conf()).get("program:cache-gc");
    expect(gc?.get("command")).toMatch(new RegExp(`^/usr/sbin/kres-cache-gc -c ${rundir} `));
    expect(
      sections(conf({ cache: { storage: rundir, "garbage-collector": { enable: false } } })).has(
        "program:cache-gc",
      ),
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

/** What supervisord itself reads from a rendered file: each program's argv and environment. */
async function asSupervisordReadsIt(
  text: string,
): Promise<Record<string, { argv: string[]; env: Record<string, string> }>> {
  // Debian's interpreter: the first python3 on PATH may lack the supervisor module.
  const r = await run("/usr/bin/python3", [path.join(REPO_ROOT, "test/fixtures/supervisord/parse-conf.py")], {
    input: text,
  });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Record<string, { argv: string[]; env: Record<string, string> }>;
}

describe("supervisord.conf as supervisord's own parser reads it", () => {
  // Blanks before ';' and '#' (inline comments to configparser), quotes, '%', backslashes, UTF-8.
  const hostile = [
    "a ;b",
    "a #b",
    "x;y#z",
    "it's",
    'say "hi"',
    "100%",
    "%(ENV_HOME)s",
    "back\\slash",
    "příklad ✓",
    "",
  ];

  it("gives the manager exactly its arguments, whatever they hold", async () => {
    const argv = ["/usr/bin/node", "/opt/krm/main.js", ...hostile.flatMap((h) => ["-c", h])];
    const cfg = validateConfig({ rundir, cache: { storage: rundir } }, { strict: false });
    const read = await asSupervisordReadsIt(renderSupervisordConf(cfg, { argv }));
    expect(read.manager?.argv).toEqual(argv);
  });

  it("gives kresd and cache-gc their paths in a rundir named with every such character it can hold", async () => {
    const odd = path.join(tmpDir("krm-conf-odd-"), "run;x#y 100% it's \\ ✓");
    fs.mkdirSync(odd);
    const cfg = validateConfig({ rundir: odd, cache: { storage: odd } }, { strict: false });
    const read = await asSupervisordReadsIt(renderSupervisordConf(cfg, manager));
    expect(read.kresd?.argv).toEqual([KRESD, "-c", path.join(odd, "kresd0.lua"), "-n", odd]);
    expect(read.kresd?.env.KRES_LISTEN_SPEC).toBe(path.join(odd, "kresd0.listen"));
    expect(read.kresd?.env.SYSTEMD_INSTANCE).toBe("0");
    expect(read["cache-gc"]?.argv.slice(1, 3)).toEqual(["-c", odd]);
  });

  it("refuses a rundir it cannot hold: a blank before ';' or '#' would start a comment", () => {
    const odd = path.join(tmpDir("krm-conf-odd-"), "run ;x");
    fs.mkdirSync(odd);
    const cfg = validateConfig({ rundir: odd, cache: { storage: odd } }, { strict: false });
    expect(() => renderSupervisordConf(cfg, manager)).toThrow(
      `supervisord would cut ${JSON.stringify(path.join(odd, "supervisord.pid"))} at its ';' or '#' after a blank`,
    );
  });

  it("refuses an environment value it cannot pass unchanged, naming it", () => {
    const cfg = validateConfig({ rundir, cache: { storage: rundir } }, { strict: false });
    for (const value of [`both ' and "`, '"quoted"', "a ;b"])
      expect(() => renderSupervisordConf(cfg, { ...manager, env: { X: value } })).toThrow(/supervisord/);
  });
});

describe("the programs supervisord would replace on taking a new supervisord.conf", () => {
  const gc = (settings: Record<string, unknown>) => ({
    cache: { storage: rundir, "garbage-collector": settings },
  });

  it("are none for the same file, or one that differs in what no program reads (supervisord's log level)", () => {
    expect(replacedPrograms(conf(), conf())).toEqual([]);
    expect(replacedPrograms(conf(), conf({ logging: { level: "notice" } }))).toEqual([]);
  });

  it("are cache-gc when its settings change, it is turned off or on, or there was no file", () => {
    expect(replacedPrograms(conf(), conf(gc({ interval: "5s" })))).toEqual(["cache-gc"]);
    expect(replacedPrograms(conf(), conf(gc({ enable: false })))).toEqual(["cache-gc"]);
    expect(replacedPrograms(conf(gc({ enable: false })), conf())).toEqual(["cache-gc"]);
    // Debug logging makes cache-gc verbose (-v): new arguments.
    expect(replacedPrograms(conf(), conf({ logging: { level: "debug" } }))).toEqual(["cache-gc"]);
    expect(replacedPrograms(undefined, conf())).toEqual(["kresd", "cache-gc"]);
  });

  it("never name the manager, which is not replaced from inside", () => {
    const other = renderSupervisordConf(
      validateConfig({ rundir, cache: { storage: rundir } }, { strict: false }),
      { argv: ["/usr/bin/node", "/elsewhere/main.js"] },
    );
    expect(replacedPrograms(conf(), other)).toEqual([]);
  });
});
