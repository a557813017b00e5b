import * as fs from "node:fs";
import * as net from "node:net";
import { readFileIfExists, writeFileAtomic } from "../../utils/files.js";
import { rundirFiles, supervisordEnv } from "./config-file.js";
import { pidAlive } from "../../utils/processes.js";

export const SUPERVISORD = process.env.KRES_SUPERVISORD ?? "/usr/bin/supervisord";

/** What is found in a rundir when knot-resolver starts. */
export type RundirState =
  | { kind: "free" }
  /** A supervisord answers on the rundir's socket. */
  | { kind: "running"; pid: number };

function socketAnswers(sock: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(sock);
    const done = (ok: boolean) => {
      c.destroy();
      resolve(ok);
    };
    c.once("connect", () => done(true));
    c.once("error", () => done(false));
    setTimeout(() => done(false), 2000).unref();
  });
}

/**
 * Whether a supervisord already serves this rundir. A pid file or socket left by a crashed run
 * (no live process, nobody listening) is removed so it cannot block the start.
 */
export async function inspectRundir(rundir: string): Promise<RundirState> {
  const files = rundirFiles(rundir);
  if (fs.existsSync(files.sock) && (await socketAnswers(files.sock))) {
    try {
      // loaded only here: a first start (no supervisord yet) does without the XML-RPC client
      const { SupervisordRpc } = await import("./rpc.js");
      const pid = await new SupervisordRpc(files.sock, 5000).getPID();
      return { kind: "running", pid };
    } catch {
      // something listens but is not a working supervisord: treat as running, touch nothing
      const pid = Number(readFileIfExists(files.pid)?.trim()) || 0;
      return { kind: "running", pid };
    }
  }
  const pid = Number(readFileIfExists(files.pid)?.trim());
  if (pid > 0 && pidAlive(pid) && isSupervisord(pid)) return { kind: "running", pid };
  fs.rmSync(files.sock, { force: true });
  fs.rmSync(files.pid, { force: true });
  return { kind: "free" };
}

function isSupervisord(pid: number): boolean {
  const cmdline = readFileIfExists(`/proc/${pid}/cmdline`) ?? "";
  return cmdline.includes("supervisord");
}

/** Writes supervisord.conf (atomically); true when its content changed. */
export function writeSupervisordConf(rundir: string, content: string): boolean {
  const file = rundirFiles(rundir).conf;
  if (readFileIfExists(file) === content) return false;
  writeFileAtomic(file, content, 0o600);
  return true;
}

/** The command line that replaces the starting process with supervisord (environment included). */
export function supervisordExecArgv(rundir: string): string[] {
  const env = supervisordEnv(process.env);
  return [
    "/usr/bin/env",
    `PYTHONPATH=${env.PYTHONPATH ?? ""}`,
    SUPERVISORD,
    "-n",
    "-c",
    rundirFiles(rundir).conf,
  ];
}
