/** The history of configurations kept in a directory (lib/manager/history.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { jest } from "@jest/globals";
import type { ChangeOptions, Snapshot } from "../../../lib/manager/config-store.js";
import { InvalidHistoryRequest } from "../../../lib/manager/errors.js";
import { History, historyRecorder, recordStart, type NewEntry } from "../../../lib/manager/history.js";
import { logger } from "../../../lib/manager/logger.js";
import { structuralEtag } from "../../../lib/utils/etag.js";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { tmpDir } from "../../../harness/tmp.js";

logger.silent = true;

/** A config document numbered `n`, as a new entry of `kind`. */
function entry(n: number, kind: NewEntry["kind"] = "api"): NewEntry {
  const document = { workers: n };
  return { etag: structuralEtag(document), source: `PUT /v1/config/workers (${n})`, kind, document };
}

/** A snapshot as the store makes it (the history reads only the document and its ETag). */
function snapshot(document: unknown): Snapshot {
  return { document, etag: structuralEtag(document), config: {} as KresConfig };
}

const quoted = (tag: string) => `"${tag}"`;

let dir: string;
let keep: number;
let history: History;
beforeEach(() => {
  dir = path.join(tmpDir("krm-history-"), "history");
  keep = 100;
  history = History.open(dir, () => keep);
});

function fill(count: number, h = history): void {
  for (let n = 1; n <= count; n++) h.record(entry(n));
}

describe("recording", () => {
  it("creates its directory (mode 0700) and writes one file per entry, named by its ID", () => {
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const e = history.record(entry(1), new Date("2026-12-03T18:20:00.000Z"));
    expect(e).toEqual({
      id: "000001",
      etag: quoted(entry(1).etag),
      time: "2026-12-03T18:20:00.000Z",
      source: "PUT /v1/config/workers (1)",
      kind: "api",
      outcome: "applied",
    });
    expect(fs.readdirSync(dir)).toEqual(["000001.json"]);
    const file = JSON.parse(fs.readFileSync(path.join(dir, "000001.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(file).toEqual({ format: 1, ...e, document: { workers: 1 } });
    expect(fs.statSync(path.join(dir, "000001.json")).mode & 0o777).toBe(0o600);
  });

  it("numbers entries on from the newest in the directory, across a reopening", () => {
    fill(3);
    const again = History.open(dir, () => keep);
    expect(again.record(entry(4)).id).toBe("000004");
  });

  it("keeps the newest `keep` entries, read at each write (it can change at run time)", () => {
    keep = 5;
    fill(8);
    expect(fs.readdirSync(dir).sort()).toEqual(
      ["000004", "000005", "000006", "000007", "000008"].map((i) => `${i}.json`),
    );
    keep = 2;
    history.record(entry(9));
    expect(history.list().entries.map((e) => e.id)).toEqual(["000009", "000008"]);
  });

  it("two writers on one directory never overwrite each other: the later takes the next free ID", () => {
    const other = History.open(dir, () => keep);
    // Both have seen the same (empty) directory; they write alternately.
    const ids: string[] = [];
    for (let n = 1; n <= 10; n++) ids.push((n % 2 ? history : other).record(entry(n)).id);
    expect(new Set(ids).size).toBe(10);
    const documents = fs
      .readdirSync(dir)
      .map(
        (f) =>
          (JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as { document: { workers: number } })
            .document.workers,
      )
      .sort((a, b) => a - b);
    expect(documents).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });

  it("removes temporary files a crash left behind when it opens", () => {
    fs.writeFileSync(path.join(dir, ".000007.json.0123456789abcdef.tmp"), "{");
    History.open(dir, () => keep);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("refuses to open a directory it cannot create", () => {
    const file = path.join(tmpDir("krm-history-"), "a-file");
    fs.writeFileSync(file, "");
    expect(() => History.open(path.join(file, "history"), () => keep)).toThrow(/ENOTDIR/);
  });
});

describe("listing", () => {
  it("lists newest first, `limit` per page, `next` leading to the following page until none is left", () => {
    fill(7);
    const first = history.list(3);
    expect(first.entries.map((e) => e.id)).toEqual(["000007", "000006", "000005"]);
    expect(first.next).toBe("000005");
    const second = history.list(3, first.next as string);
    expect(second.entries.map((e) => e.id)).toEqual(["000004", "000003", "000002"]);
    const third = history.list(3, second.next as string);
    expect(third).toEqual({ entries: [expect.objectContaining({ id: "000001" })], next: null });
  });

  it("says there is no next page when the page holds exactly the rest", () => {
    fill(3);
    expect(history.list(3).next).toBeNull();
    expect(history.list(20)).toEqual({ entries: expect.any(Array), next: null });
  });

  it("answers an empty page for an empty history", () => {
    expect(history.list()).toEqual({ entries: [], next: null });
  });

  it.each([0, -1, 1001, 1.5])("refuses limit %p", (limit) => {
    expect(() => history.list(limit)).toThrow(InvalidHistoryRequest);
  });

  it("refuses a `before` that is no entry ID", () => {
    expect(() => history.list(5, "abc")).toThrow(InvalidHistoryRequest);
  });
});

describe("a damaged or unreadable entry", () => {
  beforeEach(() => fill(4));

  it("is skipped in listings and lookups with one log line, however often it is met", () => {
    const warn = jest.spyOn(logger, "warning");
    fs.writeFileSync(path.join(dir, "000003.json"), '{"format": 1, "id": "0000');
    fs.writeFileSync(path.join(dir, "000002.json"), JSON.stringify({ format: 1, id: "000002" }));
    const reopened = History.open(dir, () => keep);
    expect(reopened.list().entries.map((e) => e.id)).toEqual(["000004", "000001"]);
    expect(reopened.list(1, "000004").entries.map((e) => e.id)).toEqual(["000001"]);
    expect(reopened.find(entry(3).etag)).toBeUndefined();
    const lines = warn.mock.calls.map((c) => String(c[0]));
    expect(lines.filter((l) => l.includes("000003.json"))).toHaveLength(1);
    expect(lines.filter((l) => l.includes("000002.json"))).toHaveLength(1);
    warn.mockRestore();
  });

  it("is skipped when its file cannot be read (a directory in its place)", () => {
    fs.rmSync(path.join(dir, "000004.json"));
    fs.mkdirSync(path.join(dir, "000004.json"));
    const reopened = History.open(dir, () => keep);
    expect(reopened.newest()?.id).toBe("000003");
    // New entries go on after it all the same.
    expect(reopened.record(entry(5)).id).toBe("000005");
  });

  it("is skipped when it claims another entry's ID", () => {
    fs.copyFileSync(path.join(dir, "000001.json"), path.join(dir, "000009.json"));
    expect(History.open(dir, () => keep).newest()?.id).toBe("000004");
  });
});

describe("lookup by ETag", () => {
  it("finds the newest entry of a config, with the document; bare, quoted or weak ETags alike", () => {
    history.record(entry(1));
    history.record(entry(2));
    history.record({ ...entry(1), source: "again" });
    for (const tag of [entry(1).etag, quoted(entry(1).etag), `W/${quoted(entry(1).etag)}`])
      expect(history.find(tag)).toMatchObject({ id: "000003", source: "again", config: { workers: 1 } });
    expect(history.find("0123")).toBeUndefined();
  });
});

describe("the store's recorder", () => {
  const options = (o: Partial<ChangeOptions>): ChangeOptions => ({ source: "x", ...o });

  it("records each new running config with its kind, source and the ETag it replaced", () => {
    const record = historyRecorder(history);
    const a = snapshot({ workers: 1 });
    const b = snapshot({ workers: 2 });
    record(b, "POST /reload", { previous: a, options: options({ kind: "reload" }) });
    expect(history.newest()).toMatchObject({
      etag: quoted(b.etag),
      kind: "reload",
      source: "POST /reload",
      previous: quoted(a.etag),
      outcome: "applied",
    });
  });

  it("records nothing when the config stays the same (a renew, a forced reload)", () => {
    const a = snapshot({ workers: 1 });
    historyRecorder(history)(snapshot({ workers: 1 }), "POST /renew/force", {
      previous: a,
      options: options({}),
    });
    expect(history.list().entries).toEqual([]);
  });

  it("on a rollback, marks the entry given up as rolled back and records the one put back with the reason", () => {
    const record = historyRecorder(history);
    const good = snapshot({ workers: 1 });
    const bad = snapshot({ workers: 2 });
    record(bad, "PUT /v1/config/workers", { previous: good, options: options({}) });
    const reason = "3 worker failures within 15 s of the change";
    record(good, "rollback", { previous: bad, options: options({ kind: "rollback", reason }) });
    expect(history.list().entries).toEqual([
      expect.objectContaining({
        kind: "rollback",
        etag: quoted(good.etag),
        outcome: "applied",
        message: reason,
      }),
      expect.objectContaining({
        kind: "api",
        etag: quoted(bad.etag),
        outcome: "rolled-back",
        message: reason,
      }),
    ]);
    // The mark is in the file: a reopened history says the same.
    expect(History.open(dir, () => keep).list().entries[1]).toMatchObject({ outcome: "rolled-back" });
  });

  it("never throws: a history that cannot be written is logged", () => {
    const error = jest.spyOn(logger, "error");
    fs.rmSync(dir, { recursive: true });
    expect(() =>
      historyRecorder(history)(snapshot({ workers: 2 }), "x", {
        previous: snapshot({}),
        options: options({}),
      }),
    ).not.toThrow();
    expect(error.mock.calls.map((c) => String(c[0]))).toEqual([
      expect.stringMatching(/^history: cannot record/),
    ]);
    error.mockRestore();
  });
});

describe("the starting config", () => {
  it("is recorded at a fresh start, even when it is the newest entry already", () => {
    const s = snapshot({ workers: 1 });
    recordStart(history, s, false);
    recordStart(history, s, false);
    expect(history.list().entries.map((e) => [e.kind, e.source])).toEqual([
      ["start", "start-up"],
      ["start", "start-up"],
    ]);
  });

  it("is not recorded again by a manager that resumes the newest entry's config after a crash", () => {
    const a = snapshot({ workers: 1 });
    const b = snapshot({ workers: 2 });
    recordStart(history, a, false);
    historyRecorder(history)(b, "PUT /v1/config/workers", { previous: a, options: { source: "PUT" } });
    recordStart(history, b, true);
    expect(history.list().entries.map((e) => e.kind)).toEqual(["api", "start"]);
  });

  it("is recorded by a resumed manager when the newest entry is another config (it died before recording)", () => {
    recordStart(history, snapshot({ workers: 1 }), false);
    recordStart(history, snapshot({ workers: 2 }), true);
    expect(history.newest()).toMatchObject({
      kind: "start",
      source: "start-up (resumed after a manager restart)",
      previous: quoted(structuralEtag({ workers: 1 })),
    });
  });
});
