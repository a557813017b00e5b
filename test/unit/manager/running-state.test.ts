/** The running config saved in the rundir for a restarted manager (lib/manager/running-state.ts). */
import * as fs from "node:fs";
import * as path from "node:path";
import { validateAsFrom } from "../../../lib/datamodel/load.js";
import { ConfigStore } from "../../../lib/manager/config-store.js";
import { logger } from "../../../lib/manager/logger.js";
import {
  forgetRunningState,
  RUNNING_STATE_FILE,
  RunningState,
  type ResumeOutcome,
} from "../../../lib/manager/running-state.js";
import { testDirs } from "../../../harness/validation.js";

logger.silent = true;

const SUPERVISORD = 4321;

/** A rundir, a config file beside it (relative paths in the config resolve against its directory). */
function setUp() {
  const { tmp, rundir } = testDirs("krm-running-state-");
  const configFile = path.join(tmp, "config.yaml");
  fs.writeFileSync(configFile, "{}\n");
  const files = [configFile];
  const document = {
    rundir,
    workers: 2,
    cache: { storage: "cache" },
    "local-data": { addresses: { "api.home.arpa": "192.0.2.99" } },
  };
  fs.mkdirSync(path.join(tmp, "cache"));
  return { tmp, rundir, files, document, snapshot: snapshotOf(files, document) };
}

/** A snapshot of a document valid as from `files`, as the store makes it. */
function snapshotOf(files: string[], document: unknown) {
  return new ConfigStore({ document, config: validateAsFrom(files, document) }).snapshot;
}

function reason(outcome: ResumeOutcome): string {
  if (outcome.kind !== "unusable") throw new Error(`expected an unusable file, got ${outcome.kind}`);
  return outcome.reason;
}

describe("RunningState", () => {
  it("gives back, under the same supervisord, the document and ETag saved, validated as from the files", () => {
    const { tmp, rundir, files, document, snapshot } = setUp();
    new RunningState(rundir, SUPERVISORD).save(snapshot, "PATCH /v1/config/local-data/addresses");
    const outcome = new RunningState(rundir, SUPERVISORD).read(files);
    if (outcome.kind !== "resumed") throw new Error(`not resumed: ${JSON.stringify(outcome)}`);
    const { version, etag, source, savedAt } = outcome.resumed;
    expect(version.document).toEqual(document);
    expect(etag).toBe(snapshot.etag);
    expect(new ConfigStore(version).snapshot.etag).toBe(snapshot.etag);
    expect(source).toBe("PATCH /v1/config/local-data/addresses");
    expect(Date.now() - Date.parse(savedAt)).toBeLessThan(60_000);
    // The relative cache path resolves against the config file's directory, not the rundir or cwd.
    expect(version.config.cache.storage).toBe(path.join(tmp, "cache"));
    expect(version.config).toEqual(snapshot.config);
  });

  it("writes the file mode 0600 (the document may hold secrets) by a rename, leaving no temporary file", () => {
    const { rundir, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshot, "start-up");
    const first = fs.statSync(state.file);
    expect(first.mode & 0o777).toBe(0o600);
    state.save(snapshot, "POST /renew");
    const second = fs.statSync(state.file);
    // A new inode: the file was replaced whole, never rewritten in place for a reader to see torn.
    expect(second.ino).not.toBe(first.ino);
    expect(second.mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(rundir)).toEqual([RUNNING_STATE_FILE]);
  });

  it("finds nothing to resume when there is no file", () => {
    const { rundir, files } = setUp();
    expect(new RunningState(rundir, SUPERVISORD).read(files)).toEqual({ kind: "none" });
  });

  it("does not resume a file saved under another supervisord (an earlier run, a reboot)", () => {
    const { rundir, files, snapshot } = setUp();
    new RunningState(rundir, 999).save(snapshot, "start-up");
    expect(reason(new RunningState(rundir, SUPERVISORD).read(files))).toBe(
      `saved under another supervisord (pid 999, this one is ${SUPERVISORD})`,
    );
  });

  it("does not resume a corrupt file, and says why", () => {
    const { rundir, files, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshot, "start-up");
    const text = fs.readFileSync(state.file, "utf8");
    fs.writeFileSync(state.file, text.slice(0, text.length / 2));
    expect(reason(state.read(files))).toMatch(/^not JSON: /);
    fs.writeFileSync(state.file, JSON.stringify({ ...JSON.parse(text), document: undefined }));
    expect(reason(state.read(files))).toBe("not a saved configuration (document: missing)");
    fs.writeFileSync(state.file, JSON.stringify({ ...JSON.parse(text), format: 2 }));
    expect(reason(state.read(files))).toMatch(/^not a saved configuration \(format: /);
  });

  it("does not resume a document that is not the one acknowledged (its ETag differs)", () => {
    const { rundir, files, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshot, "start-up");
    const saved = JSON.parse(fs.readFileSync(state.file, "utf8"));
    saved.document.workers = 3;
    fs.writeFileSync(state.file, JSON.stringify(saved));
    expect(reason(state.read(files))).toMatch(
      new RegExp(`^its document does not have its ETag ${snapshot.etag} \\(but [0-9a-f]+\\)$`),
    );
  });

  it("does not resume a document that no longer validates, naming the problem", () => {
    const { tmp, rundir, files, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    // Valid when saved; its TLS certificate file has gone since.
    for (const f of ["cert.pem", "key.pem"]) fs.writeFileSync(path.join(tmp, f), "PEM\n");
    const document = {
      ...(snapshot.document as object),
      network: { tls: { "cert-file": "cert.pem", "key-file": "key.pem" } },
    };
    state.save(snapshotOf(files, document), "PUT /v1/config/network");
    fs.rmSync(path.join(tmp, "cert.pem"));
    expect(reason(state.read(files))).toMatch(/^it does not validate any more: \/network\/tls\/cert-file: /);
  });

  it("does not resume a config for another rundir", () => {
    const { rundir, files, snapshot } = setUp();
    const other = testDirs("krm-running-state-other-").rundir;
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshotOf(files, { ...(snapshot.document as object), rundir: other }), "start-up");
    expect(reason(state.read(files))).toBe(`it names another rundir (${other})`);
  });

  it("when it cannot save, removes the older file so a restart reads the files, and does not throw", () => {
    const { rundir, files, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshot, "start-up");
    const cyclic: Record<string, unknown> = { rundir };
    cyclic.self = cyclic;
    expect(() => state.save({ ...snapshot, document: cyclic }, "PUT /v1/config")).not.toThrow();
    expect(state.read(files)).toEqual({ kind: "none" });
    expect(fs.readdirSync(rundir)).toEqual([]);
  });

  it("is forgotten at a fresh start (and forgetting nothing is fine)", () => {
    const { rundir, files, snapshot } = setUp();
    const state = new RunningState(rundir, SUPERVISORD);
    state.save(snapshot, "start-up");
    forgetRunningState(rundir);
    expect(state.read(files)).toEqual({ kind: "none" });
    expect(() => forgetRunningState(rundir)).not.toThrow();
  });
});
