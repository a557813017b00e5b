/**
 * The TLS watchdog against real files and directory watches, with fake workers that record what
 * they are sent: which changes make a reload, which do not, and what the log says.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { Writable } from "node:stream";
import winston from "winston";
import type { CommandOptions, SubprocessStatus, WorkerRef } from "../../../lib/controller/interface.js";
import type { KresConfig } from "../../../lib/datamodel/config.js";
import { logger } from "../../../lib/manager/logger.js";
import { TlsWatchdog, watchedTlsFiles, type TlsWorkers } from "../../../lib/manager/tls-watchdog.js";
import { luaStr } from "../../../lib/utils/lua-literal.js";
import { REPO_ROOT } from "../../../harness/repo.js";
import { sleep, waitFor } from "../../../harness/procs.js";
import { testDirs, validate } from "../../../harness/validation.js";

const FIXTURES = path.join(REPO_ROOT, "test/fixtures/tls");
const pem = (name: string) => fs.readFileSync(path.join(FIXTURES, name));
const SETTLE_MS = 150;
/** Long enough for a change to settle and be handled, several times over. */
const QUIET_MS = 1000;

let lines: string[] = [];
const saved = logger.transports.slice();
beforeAll(() => {
  logger.clear().add(
    new winston.transports.Stream({
      stream: new Writable({
        write(chunk: Buffer, _enc, done) {
          lines.push(...chunk.toString().trimEnd().split("\n"));
          done();
        },
      }),
    }),
  );
  logger.level = "info";
});
afterAll(() => {
  logger.clear();
  for (const t of saved) logger.add(t);
});

const row = (name: string, kind: SubprocessStatus["kind"], state: SubprocessStatus["state"], pid?: number) =>
  ({ name, kind, state, pid, startedAt: 1 }) as SubprocessStatus;

/** Two running workers, a stopped one, cache-gc and the manager; records every command sent. */
class FakeWorkers implements TlsWorkers {
  sent: { name: string; lua: string }[] = [];
  answers = new Map<string, string>();
  async processes() {
    return [
      row("kresd:kresd0", "kresd", "running", 101),
      row("kresd:kresd1", "kresd", "running", 102),
      row("kresd:kresd2", "kresd", "stopped"),
      row("cache-gc", "cache-gc", "running", 103),
      row("manager", "manager", "running", 104),
    ];
  }
  async command(w: WorkerRef, lua: string, _opts?: CommandOptions) {
    this.sent.push({ name: w.name, lua });
    return this.answers.get(w.name) ?? "true";
  }
}

interface Setup {
  dir: string;
  cert: string;
  key: string;
  workers: FakeWorkers;
  watchdog: TlsWatchdog;
  config: (watchdog: boolean | "auto", files?: { cert: string; key: string }) => KresConfig;
}

const running: TlsWatchdog[] = [];
afterEach(() => {
  for (const w of running.splice(0)) w.stop();
  lines = [];
});

/** Certificate A in dir/tls/, watched (unless `watchdog` is false) by a new watchdog. */
function setup(watchdog: boolean | "auto" = true): Setup {
  const { tmp, rundir } = testDirs("krm-tls-watchdog-");
  const dir = path.join(tmp, "tls");
  fs.mkdirSync(dir);
  const cert = path.join(dir, "cert.pem");
  const key = path.join(dir, "key.pem");
  fs.writeFileSync(cert, pem("a-cert.pem"));
  fs.writeFileSync(key, pem("a-key.pem"));
  const config = (wd: boolean | "auto", files = { cert, key }) =>
    validate({ rundir, network: { tls: { watchdog: wd, "cert-file": files.cert, "key-file": files.key } } });
  const workers = new FakeWorkers();
  const w = new TlsWatchdog(workers, { settleMs: SETTLE_MS, rearmMs: 200, commandTimeoutMs: 1000 });
  running.push(w);
  w.update(config(watchdog));
  return { dir, cert, key, workers, watchdog: w, config };
}

/** Writes `content` beside `file` and renames it over, as certbot and most deploy tools do. */
function renameOver(file: string, content: Buffer): void {
  fs.writeFileSync(`${file}.new`, content);
  fs.renameSync(`${file}.new`, file);
}

const netTls = (cert: string, key: string) => `net.tls(${luaStr(cert)}, ${luaStr(key)})`;
const reloads = () => lines.filter((l) => l.startsWith("notice: TLS certificate reloaded"));
const errors = () => lines.filter((l) => l.startsWith("error:"));

describe("watchedTlsFiles", () => {
  const { rundir, tmp } = testDirs("krm-tls-files-");
  const files = { "cert-file": path.join(tmp, "c.pem"), "key-file": path.join(tmp, "k.pem") };
  const cfg = (tls: Record<string, unknown>) => validate({ rundir, network: { tls } }, { strict: false });

  it("watches with 'auto' (the default) and true, not with false or without a certificate", () => {
    const expected = { cert: files["cert-file"], key: files["key-file"] };
    expect(watchedTlsFiles(cfg(files))).toEqual(expected);
    expect(watchedTlsFiles(cfg({ ...files, watchdog: true }))).toEqual(expected);
    expect(watchedTlsFiles(cfg({ ...files, watchdog: false }))).toBeUndefined();
    expect(watchedTlsFiles(cfg({ watchdog: true }))).toBeUndefined();
  });
});

describe("TlsWatchdog", () => {
  it("has every running kresd worker load a pair renamed over the old one, once, and logs one line", async () => {
    const s = setup();
    renameOver(s.cert, pem("b-cert.pem"));
    renameOver(s.key, pem("b-key.pem"));
    await waitFor("a reload", () => (reloads().length > 0 ? true : undefined), { timeoutMs: 5000 });
    await sleep(QUIET_MS);
    expect(s.workers.sent).toEqual([
      { name: "kresd:kresd0", lua: netTls(s.cert, s.key) },
      { name: "kresd:kresd1", lua: netTls(s.cert, s.key) },
    ]);
    expect(reloads()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^notice: TLS certificate reloaded in 2 worker\\(s\\) from ${s.cert} and ${s.key}: CN=b\\.tls\\.test, valid until .+, SHA-256 [0-9A-F:]{95}$`,
        ),
      ),
    ]);
    expect(errors()).toEqual([]);
  });

  it("refuses a broken replacement with one error line naming the file, then takes the next good one", async () => {
    const s = setup();
    renameOver(s.cert, Buffer.from("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"));
    await waitFor("the refusal", () => (errors().length > 0 ? true : undefined), { timeoutMs: 5000 });
    renameOver(s.cert, pem("b-cert.pem")); // a's key: mismatched
    await waitFor("the second refusal", () => (errors().length > 1 ? true : undefined), { timeoutMs: 5000 });
    expect(errors()).toEqual([
      expect.stringMatching(
        new RegExp(
          `^error: TLS certificate not reloaded: ${s.cert}: is not a PEM certificate .*; the workers keep the previous certificate$`,
        ),
      ),
      `error: TLS certificate not reloaded: ${s.key}: does not match the certificate in ${s.cert}; the workers keep the previous certificate`,
    ]);
    expect(s.workers.sent).toEqual([]);
    renameOver(s.key, pem("b-key.pem"));
    await waitFor("a reload", () => (reloads().length > 0 ? true : undefined), { timeoutMs: 5000 });
    expect(s.workers.sent).toHaveLength(2);
  });

  it("follows a symlink switch (certbot's live/ → archive/) and then watches the new target", async () => {
    const s = setup();
    const archive = path.join(s.dir, "archive");
    const live = path.join(s.dir, "live");
    fs.mkdirSync(archive);
    fs.mkdirSync(live);
    const link = (name: string, target: string) => {
      fs.symlinkSync(target, path.join(live, `${name}.tmp`));
      fs.renameSync(path.join(live, `${name}.tmp`), path.join(live, name));
    };
    fs.writeFileSync(path.join(archive, "cert1.pem"), pem("a-cert.pem"));
    fs.writeFileSync(path.join(archive, "key1.pem"), pem("a-key.pem"));
    link("cert.pem", "../archive/cert1.pem");
    link("key.pem", "../archive/key1.pem");
    const files = { cert: path.join(live, "cert.pem"), key: path.join(live, "key.pem") };
    s.watchdog.update(s.config(true, files));
    // Renewal: new files in archive/ (no reload yet: nothing points at them), then the links switch.
    fs.writeFileSync(path.join(archive, "cert2.pem"), pem("b-cert.pem"));
    fs.writeFileSync(path.join(archive, "key2.pem"), pem("b-key.pem"));
    await sleep(QUIET_MS);
    expect(s.workers.sent).toEqual([]);
    link("cert.pem", "../archive/cert2.pem");
    link("key.pem", "../archive/key2.pem");
    await waitFor("a reload", () => (reloads().length > 0 ? true : undefined), { timeoutMs: 5000 });
    expect(s.workers.sent.map((c) => c.lua)).toEqual([
      netTls(files.cert, files.key),
      netTls(files.cert, files.key),
    ]);
    expect(reloads()[0]).toContain("CN=b.tls.test");
    // The target itself rewritten in place (archive/cert2.pem) is seen too.
    fs.writeFileSync(path.join(archive, "cert2.pem"), pem("a-cert.pem"));
    fs.writeFileSync(path.join(archive, "key2.pem"), pem("a-key.pem"));
    await waitFor("a second reload", () => (reloads().length > 1 ? true : undefined), { timeoutMs: 5000 });
    expect(reloads()[1]).toContain("CN=a.tls.test");
  });

  it("sees files deleted and created again, and reloads only when the bytes changed", async () => {
    const s = setup();
    fs.rmSync(s.cert);
    fs.rmSync(s.key);
    fs.writeFileSync(s.cert, pem("a-cert.pem"));
    fs.writeFileSync(s.key, pem("a-key.pem"));
    await sleep(QUIET_MS);
    expect(s.workers.sent).toEqual([]); // the same pair as the workers have
    fs.rmSync(s.cert);
    fs.rmSync(s.key);
    fs.writeFileSync(s.cert, pem("b-cert.pem"));
    fs.writeFileSync(s.key, pem("b-key.pem"));
    await waitFor("a reload", () => (reloads().length > 0 ? true : undefined), { timeoutMs: 5000 });
    expect(errors()).toEqual([]);
  });

  it("ignores other files in the directory", async () => {
    const s = setup();
    fs.writeFileSync(path.join(s.dir, "README"), "hello");
    renameOver(path.join(s.dir, "other.pem"), pem("b-cert.pem"));
    await sleep(QUIET_MS);
    expect(lines.filter((l) => !l.startsWith("info: TLS watchdog: watching"))).toEqual([]);
  });

  it("logs a worker that fails to load the pair, by name and kresd's own words", async () => {
    const s = setup();
    s.workers.answers.set(
      "kresd:kresd1",
      "error occurred here\nstack traceback:\n\t[C]: in function 'tls'\nERROR: Invalid argument",
    );
    renameOver(s.cert, pem("b-cert.pem"));
    renameOver(s.key, pem("b-key.pem"));
    await waitFor("the error", () => (errors().length > 0 ? true : undefined), { timeoutMs: 5000 });
    expect(reloads()[0]).toContain("reloaded in 1 worker(s)");
    expect(errors()).toEqual([
      "error: TLS certificate not reloaded in kresd:kresd1 (pid 102): ERROR: Invalid argument",
    ]);
  });

  it("watches nothing with watchdog false, and starts and stops as the config says", async () => {
    const s = setup(false);
    renameOver(s.cert, pem("b-cert.pem"));
    renameOver(s.key, pem("b-key.pem"));
    await sleep(QUIET_MS);
    expect(s.workers.sent).toEqual([]);
    s.watchdog.update(s.config("auto")); // on: b is what the workers would read now
    renameOver(s.cert, pem("a-cert.pem"));
    renameOver(s.key, pem("a-key.pem"));
    await waitFor("a reload", () => (reloads().length > 0 ? true : undefined), { timeoutMs: 5000 });
    expect(reloads()[0]).toContain("CN=a.tls.test");
    s.watchdog.update(s.config(false));
    expect(lines).toContain("info: TLS watchdog: no longer watching the certificate files");
    renameOver(s.cert, pem("b-cert.pem"));
    renameOver(s.key, pem("b-key.pem"));
    await sleep(QUIET_MS);
    expect(reloads()).toHaveLength(1);
  });
});
