/**
 * The history of configurations: every config that became the running one, kept durably in a
 * directory (`history.storage`) as one JSON file per entry, named by its ID, so a restart or a
 * reboot loses none of it. Entries are written once (a rollback also marks the entry it gave up),
 * the oldest beyond `history.keep` are removed, and an entry that cannot be read is skipped with
 * one log line: the history never stops a change or a start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { z } from "zod";
import { formatEtag } from "../utils/etag.js";
import { writeFileAtomic } from "../utils/files.js";
import type { ChangeKind, Recorder, Snapshot } from "./config-store.js";
import { InvalidHistoryRequest } from "./errors.js";
import { logger } from "./logger.js";

const KINDS = [
  "api",
  "reload",
  "sighup",
  "rollback",
  "restore",
  "start",
] as const satisfies readonly ChangeKind[];

/** What one entry's file holds: the entry as the API lists it, and the document. */
const entryFileSchema = z.object({
  format: z.literal(1),
  /** Unique, orders the entries: a decimal number, zero-padded to 6 digits. */
  id: z.string().regex(/^\d+$/),
  /** The config's ETag as the `ETag` header says it (quoted); the same config coming back repeats it. */
  etag: z.string(),
  time: z.string(),
  /** The change that made it the running one ("PUT /v1/config/workers", "SIGHUP", "rollback"…). */
  source: z.string(),
  kind: z.enum(KINDS),
  /** "rolled-back": it ran, but its workers kept dying and the watchdog put an older one back. */
  outcome: z.enum(["applied", "rolled-back"]),
  message: z.string().optional(),
  /** The ETag of the config it replaced. */
  previous: z.string().optional(),
  /** The document as the API shows it; `null` is a document too. */
  document: z.custom<unknown>((d) => d !== undefined, "missing"),
});
type EntryFile = z.infer<typeof entryFileSchema>;

/** One entry, as `GET /v1/history` lists it. */
export type HistoryEntry = Omit<EntryFile, "format" | "document">;
/** One entry with its configuration, as `GET /v1/history/{etag}` shows it. */
export type HistoryEntryWithConfig = HistoryEntry & { config: unknown };
/** A page of entries, newest first; `next` is the `before` of the next page (null: no more). */
export interface HistoryPage {
  entries: HistoryEntry[];
  next: string | null;
}

/** What a new entry says; the history gives it its ID and time. */
export interface NewEntry {
  /** The bare ETag (structuralEtag), as the store has it. */
  etag: string;
  source: string;
  kind: ChangeKind;
  message?: string;
  previous?: string;
  document: unknown;
}

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 1000;

const ENTRY_FILE = /^(\d+)\.json$/;
/** How many taken IDs one write skips over before it gives up (another writer on the same directory). */
const MAX_ID_RACES = 100;

function idOf(n: number): string {
  return String(n).padStart(6, "0");
}

/** An ETag as a client may write it (bare, quoted, weak) → the quoted form entries hold. */
export function quotedEtag(tag: string): string {
  const bare = tag.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
  return formatEtag(bare);
}

export class History {
  // Each entry's listing by ID; null for one that could not be read (logged once).
  private readonly entries = new Map<number, HistoryEntry | null>();

  private constructor(
    readonly dir: string,
    /** How many entries to keep, asked at each write (it can change at run time). */
    private readonly keep: () => number,
  ) {}

  /**
   * The history in `dir`, created (mode 0700: the documents may hold secrets) if missing; throws
   * when the directory cannot be made or written. Temporary files a crash left behind are removed.
   */
  static open(dir: string, keep: () => number): History {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    for (const name of fs.readdirSync(dir))
      if (name.startsWith(".") && name.endsWith(".tmp")) fs.rmSync(path.join(dir, name), { force: true });
    const history = new History(dir, keep);
    history.scan();
    return history;
  }

  /** Records a new entry, durably (fsynced before this returns), then prunes to `keep`. */
  record(entry: NewEntry, time = new Date()): HistoryEntry {
    const ids = this.scan();
    let n = (ids[ids.length - 1] ?? 0) + 1;
    for (let race = 0; ; race++) {
      const listed: HistoryEntry = {
        id: idOf(n),
        etag: formatEtag(entry.etag),
        time: time.toISOString(),
        source: entry.source,
        kind: entry.kind,
        outcome: "applied",
        ...(entry.message !== undefined ? { message: entry.message } : {}),
        ...(entry.previous !== undefined ? { previous: formatEtag(entry.previous) } : {}),
      };
      try {
        this.write(listed, entry.document, true);
        this.entries.set(n, listed);
        this.prune([...ids.filter((i) => i < n), n]);
        return listed;
      } catch (e) {
        // Another writer took this ID meanwhile: the next one.
        if ((e as NodeJS.ErrnoException).code !== "EEXIST" || race >= MAX_ID_RACES) throw e;
        n++;
      }
    }
  }

  /** Entries newest first, at most `limit`, older than the entry `before` when given. */
  list(limit = DEFAULT_PAGE, before?: string): HistoryPage {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE)
      throw new InvalidHistoryRequest(`'limit' must be an integer from 1 to ${MAX_PAGE}, not ${limit}`);
    if (before !== undefined && !/^\d+$/.test(before))
      throw new InvalidHistoryRequest(`'before' must be an entry ID (digits), not ${JSON.stringify(before)}`);
    const below = before === undefined ? Infinity : Number(before);
    const readable = this.scan()
      .reverse()
      .filter((n) => n < below)
      .map((n) => this.entries.get(n))
      .filter((e): e is HistoryEntry => !!e);
    const entries = readable.slice(0, limit);
    const last = entries[entries.length - 1];
    return { entries, next: readable.length > limit && last ? last.id : null };
  }

  /** The newest readable entry, if any. */
  newest(): HistoryEntry | undefined {
    return this.list(1).entries[0];
  }

  /** The newest entry whose config has this ETag (bare or quoted), with the config; undefined when none. */
  find(etag: string): HistoryEntryWithConfig | undefined {
    const wanted = quotedEtag(etag);
    for (const n of this.scan().reverse()) {
      if (this.entries.get(n)?.etag !== wanted) continue;
      const file = this.read(n);
      if (file) {
        const { format: _format, document, ...entry } = file;
        return { ...entry, config: document };
      }
    }
    return undefined;
  }

  /** The newest entry of the config with this bare ETag ran, but was given up: say so in it. */
  markRolledBack(etag: string, message: string): void {
    const wanted = formatEtag(etag);
    const n = this.scan()
      .reverse()
      .find((i) => this.entries.get(i)?.etag === wanted);
    const file = n === undefined ? undefined : this.read(n);
    if (n === undefined || !file) return;
    const { format: _format, document, ...entry } = file;
    const marked: HistoryEntry = { ...entry, outcome: "rolled-back", message };
    this.write(marked, document, false);
    this.entries.set(n, marked);
  }

  private fileOf(id: string | number): string {
    return path.join(this.dir, `${typeof id === "number" ? idOf(id) : id}.json`);
  }

  private write(entry: HistoryEntry, document: unknown, exclusive: boolean): void {
    const file: EntryFile = { format: 1, ...entry, document };
    writeFileAtomic(this.fileOf(entry.id), JSON.stringify(file), 0o600, { durable: true, exclusive });
  }

  /** The IDs of the directory's entries, oldest first; new ones read (a damaged one logged once). */
  private scan(): number[] {
    const ids: number[] = [];
    for (const name of fs.readdirSync(this.dir)) {
      const m = ENTRY_FILE.exec(name);
      if (m) ids.push(Number(m[1]));
    }
    ids.sort((a, b) => a - b);
    const present = new Set(ids);
    for (const n of this.entries.keys()) if (!present.has(n)) this.entries.delete(n);
    for (const n of ids) {
      if (this.entries.has(n)) continue;
      const file = this.read(n);
      if (!file) {
        this.entries.set(n, null);
        continue;
      }
      const { format: _format, document: _document, ...entry } = file;
      this.entries.set(n, entry);
    }
    return ids;
  }

  /** One entry's file, checked; undefined (and one log line) when it cannot be read or is damaged. */
  private read(n: number): EntryFile | undefined {
    const file = this.fileOf(n);
    let problem: string;
    try {
      const parsed = entryFileSchema.safeParse(JSON.parse(fs.readFileSync(file, "utf8")));
      if (parsed.success && Number(parsed.data.id) === n) return parsed.data;
      problem = parsed.success
        ? `it says it is entry ${parsed.data.id}`
        : `${parsed.error.issues[0]?.path.join(".") || "the entry"}: ${parsed.error.issues[0]?.message}`;
    } catch (e) {
      problem = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    }
    // Once per entry: it stays known as damaged (entries[n] = null) until it is pruned.
    if (this.entries.get(n) !== null)
      logger.warning(`history: skipping ${file}, it cannot be read: ${problem}`);
    this.entries.set(n, null);
    return undefined;
  }

  /**
   * Removes the oldest entries beyond `keep` (damaged ones count and go too); `ids` is the directory's
   * as just scanned, oldest first (an entry another writer adds meanwhile waits for the next prune).
   */
  private prune(ids: number[]): void {
    for (const n of ids.slice(0, Math.max(0, ids.length - this.keep()))) {
      fs.rmSync(this.fileOf(n), { force: true });
      this.entries.delete(n);
    }
  }
}

/**
 * The ConfigStore recorder that adds each config that became the running one to the history (a
 * renew or forced reload that keeps the same config adds nothing). A rollback also marks the entry
 * it gave up. Never throws: the change is done; a history that cannot be written is logged.
 */
export function historyRecorder(history: History): Recorder {
  return (running, source, { previous, options }) => {
    if (running.etag === previous.etag) return;
    try {
      const kind = options.kind ?? "api";
      if (kind === "rollback") history.markRolledBack(previous.etag, options.reason ?? "rolled back");
      history.record({
        etag: running.etag,
        source,
        kind,
        ...(options.reason !== undefined ? { message: options.reason } : {}),
        previous: previous.etag,
        document: running.document,
      });
    } catch (e) {
      logger.error(
        `history: cannot record the configuration ${running.etag} in ${history.dir}: ${(e as Error).message}`,
      );
    }
  };
}

/**
 * Records the config a manager starts with. A manager resumed after a crash records nothing when
 * the newest entry is that config already (it was recorded when it was applied), so a restart of
 * the manager alone adds no duplicate.
 */
export function recordStart(history: History, running: Snapshot, resumed: boolean): void {
  try {
    const newest = history.newest();
    if (resumed && newest?.etag === formatEtag(running.etag)) return;
    history.record({
      etag: running.etag,
      source: resumed ? "start-up (resumed after a manager restart)" : "start-up",
      kind: "start",
      ...(newest ? { previous: newest.etag.replace(/^"(.*)"$/, "$1") } : {}),
      document: running.document,
    });
  } catch (e) {
    logger.error(
      `history: cannot record the starting configuration in ${history.dir}: ${(e as Error).message}`,
    );
  }
}
