import * as path from "node:path";
import { cacheGcArgs, cacheGcEnabled, KRES_CACHE_GC } from "../cache-gc.js";
import type { KresConfig } from "../../datamodel/config.js";
import { KRESD_SLOTS } from "../interface.js";
import { projectRoot } from "../../utils/paths.js";
import { UnrepresentableSetting } from "../errors.js";

// Overridable so a test (or another distribution) can point at a different kresd binary.
export const KRESD = process.env.KRES_KRESD ?? "/usr/sbin/kresd";
// Stands for supervisord's %(process_num)d while the command is escaped.
const PROCESS_NUM = 987654321;

/** Seconds a worker has to send READY=1 before supervisord kills it. */
export const WORKER_READY_TIMEOUT = 10;

/** Files supervisord and the workers keep in the rundir. */
export function rundirFiles(rundir: string) {
  return {
    conf: path.join(rundir, "supervisord.conf"),
    pid: path.join(rundir, "supervisord.pid"),
    sock: path.join(rundir, "supervisord.sock"),
    /** Where the sd_notify plugin takes READY=1 from the workers (a file socket, mode 0600). */
    notify: path.join(rundir, "notify.sock"),
    workerLua: (id: number) => path.join(rundir, `kresd${id}.lua`),
    /** The sockets the listen_fds plugin hands to that worker (JSON). */
    workerListen: (id: number) => path.join(rundir, `kresd${id}.listen`),
  };
}

/** How the manager program is (re)started by supervisord. */
export interface ManagerCommand {
  /** argv of the manager, first element the executable. */
  argv: string[];
  /** Extra environment for the manager. */
  env?: Record<string, string>;
}

/** A unix socket path longer than this does not fit in sockaddr_un (108 bytes with the NUL). */
const UNIX_PATH_MAX = 107;

/**
 * The sd_notify plugin's socket: a file in the rundir, which only supervisord's user can reach,
 * when its path fits a unix socket address; else the plugin's abstract socket (reachable by any
 * local user: a rundir path that long is rare).
 */
function notifySocketLine(file: string): string {
  return Buffer.byteLength(file) <= UNIX_PATH_MAX
    ? `socket = ${ini(file)}`
    : `; rundir path too long for a notify socket file: abstract socket`;
}

/**
 * supervisord reads its config with Python's configparser, which ends a value at ';' or '#' after
 * whitespace (an inline comment), quoted or not; values never hold that sequence.
 */
const INLINE_COMMENT = /\s[;#]/;

/** supervisord expands %(name)s in values: a literal '%' must be doubled. */
function ini(value: string): string {
  if (/[\r\n]/.test(value))
    throw new UnrepresentableSetting(
      `a supervisord config value cannot span lines: ${JSON.stringify(value)}`,
    );
  if (INLINE_COMMENT.test(value))
    throw new UnrepresentableSetting(
      `supervisord would cut ${JSON.stringify(value)} at its ';' or '#' after a blank (an inline comment in its config)`,
    );
  return value.replace(/%/g, "%%");
}

const SHELL_SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/**
 * One argument for the command line supervisord splits with Python's shlex (POSIX rules): every
 * other character gets a backslash, so a blank is never followed by ';' or '#' (see ini()).
 */
function shellArg(arg: string): string {
  if (arg === "") return "''";
  return SHELL_SAFE.test(arg) ? arg : arg.replace(/[^A-Za-z0-9_@%+=:,./-]/g, (c) => `\\${c}`);
}

function command(argv: readonly string[]): string {
  return ini(argv.map(shellArg).join(" "));
}

/**
 * supervisord's `environment`: KEY="value",… read by a non-POSIX shlex, which knows no escapes,
 * and then strips every quote character from both ends of a value. So a value is quoted with the
 * quote it does not contain, and one that holds both or starts or ends with one is refused.
 */
function envValue(key: string, value: string): string {
  const refuse = (why: string) =>
    new UnrepresentableSetting(
      `supervisord cannot pass ${key}=${JSON.stringify(value)} to a program: ${why}`,
    );
  if (/^['"]|['"]$/.test(value)) throw refuse("it starts or ends with a quote");
  if (!value.includes('"')) return `"${value}"`;
  if (!value.includes("'")) return `'${value}'`;
  throw refuse("it holds both quote characters");
}

function environment(env: Record<string, string>): string {
  return ini(
    Object.entries(env)
      .map(([k, v]) => `${k}=${envValue(k, v)}`)
      .join(","),
  );
}

const SUPERVISORD_LOGLEVEL: Record<string, string> = {
  crit: "critical",
  err: "error",
  warning: "warn",
  notice: "info",
  info: "info",
  debug: "debug",
};

/**
 * supervisord.conf for a config: the manager, KRESD_SLOTS kresd slots (whatever the config: the
 * group never changes, so no worker restarts for it), cache-gc. `supervisorctl status` lists the
 * slots that were ever started only.
 */
export function renderSupervisordConf(cfg: KresConfig, manager: ManagerCommand): string {
  const files = rundirFiles(cfg.rundir);
  const level = SUPERVISORD_LOGLEVEL[cfg.logging.level] ?? "info";
  const notify = { "X-SUPERVISORD-TYPE": "notify" };
  const sections: string[] = [
    `; Generated by knot-resolver-manager; rewritten on every start.
[supervisord]
pidfile = ${ini(files.pid)}
directory = ${ini(cfg.rundir)}
nodaemon = true
logfile = /dev/null
logfile_maxbytes = 0
silent = true
loglevel = ${level}

[unix_http_server]
file = ${ini(files.sock)}
chmod = 0600

[supervisorctl]
serverurl = unix://${ini(files.sock)}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = kres_supervisord.fast_rpcinterface:make_supervisor_rpcinterface
hide_unstarted = kresd

[rpcinterface:patch_logger]
supervisor.rpcinterface_factory = kres_supervisord.patch_logger:inject
target = ${cfg.logging.target}

[rpcinterface:manager_integration]
supervisor.rpcinterface_factory = kres_supervisord.manager_integration:inject

[rpcinterface:sd_notify]
supervisor.rpcinterface_factory = kres_supervisord.sd_notify:inject
${notifySocketLine(files.notify)}

[rpcinterface:listen_fds]
supervisor.rpcinterface_factory = kres_supervisord.listen_fds:inject

[rpcinterface:fast]
supervisor.rpcinterface_factory = kres_supervisord.fast_rpcinterface:make_main_rpcinterface`,
    `[program:manager]
command = ${command(manager.argv)}
environment = ${environment({ ...notify, ...manager.env })}
directory = ${ini(cfg.rundir)}
autostart = true
autorestart = true
startsecs = 600
startretries = 3
stopsignal = TERM
stopwaitsecs = 60
stopasgroup = true
killasgroup = true
stdout_logfile = NONE
stderr_logfile = NONE`,
    `[program:kresd]
process_name = %(program_name)s%(process_num)d
numprocs = ${KRESD_SLOTS}
command = ${command([KRESD, "-c", files.workerLua(PROCESS_NUM), "-n", cfg.rundir]).replace(String(PROCESS_NUM), "%(process_num)d")}
environment = ${environment({ ...notify, SYSTEMD_INSTANCE: String(PROCESS_NUM), KRES_LISTEN_SPEC: files.workerListen(PROCESS_NUM) }).replaceAll(String(PROCESS_NUM), "%(process_num)d")}
directory = ${ini(cfg.rundir)}
autostart = false
autorestart = true
startsecs = ${WORKER_READY_TIMEOUT}
startretries = 0
stopsignal = TERM
stopwaitsecs = 10
killasgroup = true
stdout_logfile = NONE
stderr_logfile = NONE`,
  ];
  if (cacheGcEnabled(cfg)) {
    sections.push(`[program:cache-gc]
command = ${command([KRES_CACHE_GC, ...cacheGcArgs(cfg)])}
directory = ${ini(cfg.rundir)}
autostart = false
autorestart = true
startsecs = 0
stopsignal = TERM
; A SIGTERM that lands between supervisord's fork and exec is lost (the child still runs
; supervisord's handler): then SIGKILL a second later; cache-gc's work is LMDB transactions.
stopwaitsecs = 1
stdout_logfile = NONE
stderr_logfile = NONE`);
  }
  return sections.join("\n\n") + "\n";
}

/**
 * The `[program:NAME]` sections of a supervisord.conf, each as its text: what supervisord's
 * reloadConfig compares to tell which programs changed.
 */
function programSections(conf: string): Map<string, string> {
  const sections = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of conf.split("\n")) {
    const header = /^\[([^\]]*)\]\s*$/.exec(line);
    if (header) {
      const program = /^program:(.+)$/.exec(header[1]!)?.[1];
      current = program === undefined ? undefined : [];
      if (program !== undefined && current) sections.set(program, current);
    } else current?.push(line);
  }
  return new Map([...sections].map(([name, lines]) => [name, lines.join("\n").trim()]));
}

/**
 * The programs whose processes supervisord would stop on taking `next` instead of `current`
 * (programs added, removed or changed); the manager's own is left out, as applySupervisordConf
 * never replaces it from inside.
 */
export function replacedPrograms(current: string | undefined, next: string): string[] {
  const before = programSections(current ?? "");
  const after = programSections(next);
  return [...new Set([...before.keys(), ...after.keys()])].filter(
    (name) => name !== "manager" && before.get(name) !== after.get(name),
  );
}

/** Environment under which supervisord must run so it finds our plugins. */
export function supervisordEnv(base: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const pythonPath = [path.join(projectRoot(), "supervisord-plugins"), base.PYTHONPATH]
    .filter(Boolean)
    .join(":");
  return { ...base, PYTHONPATH: pythonPath };
}
