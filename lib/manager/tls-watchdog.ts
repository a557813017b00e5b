/**
 * `network.tls.watchdog`: when the certificate or key file changes (rewritten, renamed over, a
 * symlink switched as certbot's live/ does, deleted and created again), every running worker loads
 * the pair again over its control socket, without a restart. Workers started later run the Lua
 * that names the same files, so they read whatever is there then.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../datamodel/config.js";
import {
  WorkerGone,
  type CommandOptions,
  type SubprocessStatus,
  type WorkerRef,
} from "../controller/interface.js";
import { luaStr } from "../utils/lua-literal.js";
import { Settler } from "../utils/settle.js";
import { logger } from "./logger.js";
import { checkTlsPair, TlsPairRefused, type TlsFiles } from "./tls-pair.js";

/** What the watchdog needs of the running workers (KresManager has both). */
export interface TlsWorkers {
  processes(): Promise<SubprocessStatus[]>;
  command(worker: WorkerRef, lua: string, opts?: CommandOptions): Promise<string>;
}

export interface TlsWatchdogOptions {
  /** Quiet time after the last change before the pair is checked (writers finish both files). */
  settleMs: number;
  /** How often a directory that cannot be watched (missing) is tried again. */
  rearmMs: number;
  /** How long one worker may take to load the pair. */
  commandTimeoutMs: number;
}

export const DEFAULT_TLS_WATCHDOG: TlsWatchdogOptions = {
  settleMs: 1000,
  rearmMs: 5000,
  commandTimeoutMs: 5000,
};

/** The files `cfg` asks to watch: none when watchdog is false or no certificate is configured. */
export function watchedTlsFiles(cfg: KresConfig): TlsFiles | undefined {
  const tls = cfg.network.tls;
  // 'auto' means on: unlike upstream, whose file watching is an optional dependency, ours always works.
  if (tls.watchdog === false || tls["cert-file"] === undefined || tls["key-file"] === undefined)
    return undefined;
  return { cert: tls["cert-file"], key: tls["key-file"] };
}

interface DirWatch {
  watcher: fs.FSWatcher;
  /** The directory's inode when the watch began: a directory deleted and made again is watched anew. */
  ino: number;
}

function inodeOf(dir: string): number | undefined {
  try {
    return fs.statSync(dir).ino;
  } catch {
    return undefined;
  }
}

/**
 * Directory → the names in it that matter: each file's own directory, and for a symlink also its
 * target's directory (resolved again after every change, as a switch points it elsewhere).
 */
function watchedNames(files: TlsFiles): Map<string, Set<string>> {
  const dirs = new Map<string, Set<string>>();
  const add = (file: string) => {
    const dir = path.dirname(file);
    dirs.set(dir, (dirs.get(dir) ?? new Set()).add(path.basename(file)));
  };
  for (const file of [files.cert, files.key]) {
    add(file);
    try {
      const target = fs.realpathSync(file);
      if (target !== file) add(target);
    } catch {
      // missing for now: its directory tells when it comes
    }
  }
  return dirs;
}

/** The last line of a worker's answer: kresd puts the error itself after the Lua traceback. */
const lastLine = (answer: string) => answer.trim().split("\n").pop() ?? answer;

/**
 * Watches the TLS pair of the running config and has every running kresd worker load it again,
 * once both files have settled and checkTlsPair accepts them. A pair that does not load is refused
 * with one error line naming the file; the workers keep the last good pair.
 */
export class TlsWatchdog {
  private files: TlsFiles | undefined;
  private readonly dirs = new Map<string, DirWatch>();
  private names = new Map<string, Set<string>>();
  private settler: Settler | undefined;
  private rearm: NodeJS.Timeout | undefined;
  /** Digest of the pair the workers were last given (or started with). */
  private loaded: string | undefined;

  constructor(
    private readonly workers: TlsWorkers,
    private readonly options: TlsWatchdogOptions = DEFAULT_TLS_WATCHDOG,
  ) {}

  /** Follows a config: starts watching, watches other files, or stops. */
  update(cfg: KresConfig): void {
    const next = watchedTlsFiles(cfg);
    const current = this.files;
    if (next?.cert === current?.cert && next?.key === current?.key) return;
    this.stop();
    if (current && !next) logger.info("TLS watchdog: no longer watching the certificate files");
    if (!next) return;
    this.files = next;
    // The workers run the files as they are now: only a change from here on is news.
    try {
      this.loaded = checkTlsPair(next).digest;
    } catch {
      this.loaded = undefined;
    }
    const settler: Settler = new Settler(this.options.settleMs, () => this.reload(settler));
    this.settler = settler;
    this.rewatch();
    logger.info(
      `TLS watchdog: watching ${next.cert} and ${next.key} (in ${[...this.names.keys()].join(", ")})`,
    );
  }

  /** Stops watching (shutdown, or the config turned it off). */
  stop(): void {
    this.settler?.stop();
    this.settler = undefined;
    clearTimeout(this.rearm);
    this.rearm = undefined;
    for (const w of this.dirs.values()) w.watcher.close();
    this.dirs.clear();
    this.names = new Map();
    this.files = undefined;
    this.loaded = undefined;
  }

  /** Watches the directories the files are in now; returns whether a new one came into view. */
  private rewatch(): boolean {
    const files = this.files;
    if (!files) return false;
    this.names = watchedNames(files);
    let added = false;
    let missing = false;
    for (const [dir, w] of this.dirs) {
      if (!this.names.has(dir) || inodeOf(dir) !== w.ino) {
        w.watcher.close();
        this.dirs.delete(dir);
      }
    }
    for (const dir of this.names.keys()) {
      if (this.dirs.has(dir)) continue;
      const ino = inodeOf(dir);
      try {
        if (ino === undefined) throw new Error("no such directory");
        const watcher = fs.watch(dir, { persistent: false }, (_event, name) => this.changed(dir, name));
        watcher.on("error", (e) => {
          logger.warning(`TLS watchdog: watching ${dir} failed: ${e.message}`);
          watcher.close();
          if (this.dirs.get(dir)?.watcher === watcher) this.dirs.delete(dir);
          this.scheduleRearm();
        });
        this.dirs.set(dir, { watcher, ino });
        added = true;
      } catch (e) {
        missing = true;
        logger.warning(`TLS watchdog: cannot watch ${dir} (${(e as Error).message}); trying again`);
      }
    }
    if (missing) this.scheduleRearm();
    return added;
  }

  private scheduleRearm(): void {
    if (this.rearm || !this.files) return;
    this.rearm = setTimeout(() => {
      this.rearm = undefined;
      // A directory that appears may bring the files with it.
      if (this.rewatch()) this.settler?.poke();
    }, this.options.rearmMs);
    this.rearm.unref();
  }

  private changed(dir: string, name: string | Buffer | null): void {
    // Unnamed events (the directory itself) count; other files in the directory do not.
    if (name !== null && !this.names.get(dir)?.has(name.toString())) return;
    this.settler?.poke();
  }

  /** The files settled: check the pair, then have every running worker load it. */
  private async reload(settler: Settler): Promise<void> {
    const files = this.files;
    if (!files || settler !== this.settler) return;
    this.rewatch(); // a symlink may point into another directory now
    let pair;
    try {
      pair = checkTlsPair(files);
    } catch (e) {
      if (!(e instanceof TlsPairRefused)) throw e;
      logger.error(`TLS certificate not reloaded: ${e.message}; the workers keep the previous certificate`);
      return;
    }
    if (pair.digest === this.loaded) {
      logger.debug(`TLS watchdog: ${files.cert} and ${files.key} changed back to what the workers have`);
      return;
    }
    let workers: SubprocessStatus[];
    try {
      workers = (await this.workers.processes()).filter(
        (p) => p.kind === "kresd" && p.pid !== undefined && (p.state === "running" || p.state === "starting"),
      );
    } catch (e) {
      logger.error(`TLS certificate not reloaded: cannot list the workers: ${(e as Error).message}`);
      return;
    }
    if (settler !== this.settler) return; // turned off or aimed at other files meanwhile
    const lua = `net.tls(${luaStr(files.cert)}, ${luaStr(files.key)})`;
    const outcomes = await Promise.all(
      workers.map(async (w) => {
        try {
          const answer = await this.workers.command(w, lua, { timeoutMs: this.options.commandTimeoutMs });
          return answer === "true" ? "ok" : `${w.name} (pid ${w.pid}): ${lastLine(answer)}`;
        } catch (e) {
          // Stopped meanwhile (a rolling restart): its successor reads the files when it starts.
          return e instanceof WorkerGone ? "gone" : `${w.name} (pid ${w.pid}): ${(e as Error).message}`;
        }
      }),
    );
    const failed = outcomes.filter((o) => o !== "ok" && o !== "gone");
    const loaded = outcomes.filter((o) => o === "ok").length;
    // A worker that failed keeps the old pair: the next change of the files tries again.
    if (failed.length === 0) this.loaded = pair.digest;
    if (loaded > 0 || failed.length === 0)
      logger.notice(
        `TLS certificate reloaded in ${loaded} worker(s) from ${files.cert} and ${files.key}: ${pair.subject}, valid until ${pair.validTo}, SHA-256 ${pair.fingerprint}`,
      );
    for (const f of failed) logger.error(`TLS certificate not reloaded in ${f}`);
  }
}
