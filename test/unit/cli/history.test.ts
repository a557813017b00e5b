/**
 * `kresctl history list|show|diff|restore` against a throwaway manager on a unix socket: the
 * requests each sends and what it prints.
 */
import { FakeManager, kresctl, type Routes } from "./fake-manager.js";

const A = "0123456789abcdef0123456789abcdef";
const B = "fedcba9876543210fedcba9876543210";
const entry = (id: string, etag: string, extra: Record<string, unknown> = {}) => ({
  id,
  etag: `"${etag}"`,
  time: "2026-12-03T18:20:00.000Z",
  source: "PUT /v1/config/workers",
  kind: "api",
  outcome: "applied",
  ...extra,
});
const CONFIG_A = { workers: 2, "local-data": { addresses: { "old.test.": "192.0.2.1" } } };
const CONFIG_B = { workers: 2, "local-data": { addresses: { "old.test.": "192.0.2.2" } } };
const RUNNING = { workers: 3, "local-data": { addresses: { "old.test.": "192.0.2.2" } } };

/** A dry run's answer, as the manager gives it (lib/datamodel/change-plan.ts). */
const PLAN = {
  "dry-run": "true",
  etag: B,
  "new-etag": A,
  changed: true,
  changes: [
    { pointer: "/local-data/addresses/old.test.", op: "replace", old: "192.0.2.2", new: "192.0.2.1" },
  ],
  "yaml-diff": "--- running/config.yaml\n+++ new/config.yaml\n",
  "lua-changed": true,
  "lua-diff": "",
  processes: { restart: ["kresd:kresd0", "kresd:kresd1"], start: [], stop: [], unchanged: ["cache-gc"] },
};

const routes: Routes = {
  "GET /v1/history": {
    json: {
      entries: [
        entry("000002", B),
        entry("000001", A, { kind: "rollback", source: "rollback", message: "3 worker failures" }),
      ],
      next: null,
    },
  },
  "GET /v1/history?limit=1": { json: { entries: [entry("000002", B)], next: "000002" } },
  "GET /v1/history?limit=1&before=000002": { json: { entries: [entry("000001", A)], next: null } },
  [`GET /v1/history/${A}`]: { json: { ...entry("000001", A), config: CONFIG_A } },
  [`GET /v1/history/${B}`]: { json: { ...entry("000002", B), config: CONFIG_B } },
  "GET /v1/history/nope": { status: 404, json: { error: 'no history entry has the ETag "nope"' } },
  "GET /v1/config": { json: RUNNING },
  [`POST /v1/history/${A}/restore`]: { json: { etag: `"${A}"`, "restored-from": "000001" } },
  [`POST /v1/history/${A}/restore?persist=true`]: { json: { etag: `"${A}"`, "restored-from": "000001" } },
  [`POST /v1/history/${A}/restore?dry-run=true`]: { json: PLAN },
  [`POST /v1/history/${A}/restore?persist=true&dry-run=canary`]: {
    json: { ...PLAN, "dry-run": "canary", canary: { ok: false, message: "no READY" } },
  },
};

let fake: FakeManager;
beforeAll(async () => {
  fake = await FakeManager.start(routes);
});
afterAll(() => fake.stop());
beforeEach(() => fake.seen.splice(0));

const history = (args: string[], confirm?: (q: string) => Promise<boolean>) =>
  kresctl(["-s", fake.socket, "history", ...args], confirm ? { confirm } : {});
const requests = () => fake.seen.map((s) => `${s.method} ${s.url}`);

describe("kresctl history list", () => {
  it("prints a table, newest first, with an entry's message below it", async () => {
    const r = await history(["list"]);
    expect(r).toEqual({ code: 0, out: expect.any(String), err: "" });
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^ID\s+TIME\s+KIND\s+OUTCOME\s+ETAG\s+SOURCE$/);
    expect(lines[1]).toMatch(
      new RegExp(
        `^000002\\s+2026-12-03T18:20:00.000Z\\s+api\\s+applied\\s+"${B}"\\s+PUT /v1/config/workers$`,
      ),
    );
    expect(lines[2]).toMatch(/^000001\s+\S+\s+rollback\s+applied/);
    expect(lines[3]).toMatch(/^\s+3 worker failures$/);
    expect(lines).toHaveLength(4);
  });

  it("pages with --limit and --before, and says how to get the next page", async () => {
    const r = await history(["list", "-n", "1"]);
    expect(r.out).toMatch(/more: kresctl history list --before 000002\n$/);
    await history(["list", "--limit", "1", "--before", "000002"]);
    expect(requests()).toEqual(["GET /v1/history?limit=1", "GET /v1/history?limit=1&before=000002"]);
  });

  it("prints the page as the API answers it with --json", async () => {
    const r = await history(["list", "--json", "-n", "1"]);
    expect(JSON.parse(r.out)).toEqual({ entries: [entry("000002", B)], next: "000002" });
  });
});

describe("kresctl history show", () => {
  it("prints the configuration as YAML under its entry as comments; quoted ETags are sent bare", async () => {
    const r = await history(["show", `"${A}"`]);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "# id: 000001",
        `# etag: "${A}"`,
        "# time: 2026-12-03T18:20:00.000Z",
        "# source: PUT /v1/config/workers",
        "# kind: api",
        "# outcome: applied",
        "workers: 2",
        "local-data:",
        "  addresses:",
        "    old.test.: 192.0.2.1",
        "",
      ].join("\n"),
    );
    expect(requests()).toEqual([`GET /v1/history/${A}`]);
  });

  it("prints the entry with its config as JSON with --json", async () => {
    const r = await history(["show", A, "--json"]);
    expect(JSON.parse(r.out)).toEqual({ ...entry("000001", A), config: CONFIG_A });
  });

  it("fails with the manager's message for an unknown ETag", async () => {
    const r = await history(["show", "nope"]);
    expect([r.code, r.err]).toEqual([1, 'kresctl: no history entry has the ETag "nope"\n']);
  });
});

describe("kresctl history diff", () => {
  it("prints a unified YAML diff from A to the running configuration by default", async () => {
    const r = await history(["diff", A]);
    expect(r.code).toBe(0);
    expect(r.out).toContain(`--- ${A} (entry 000001)\n+++ running\n`);
    expect(r.out).toContain("-workers: 2\n+workers: 3\n");
    expect(r.out).toContain("-    old.test.: 192.0.2.1\n+    old.test.: 192.0.2.2\n");
    expect(requests()).toEqual([`GET /v1/history/${A}`, "GET /v1/config"]);
  });

  it("compares two recorded configurations, and prints nothing for the same one", async () => {
    const r = await history(["diff", A, B]);
    expect(r.out.split("\n").filter((l) => /^[-+][^-+]/.test(l))).toEqual([
      "-    old.test.: 192.0.2.1",
      "+    old.test.: 192.0.2.2",
    ]);
    expect((await history(["diff", B, B])).out).toBe("");
  });
});

describe("kresctl history restore", () => {
  it("from a script: restores at once and prints what runs now", async () => {
    const r = await history(["restore", A]);
    expect(r).toEqual({ code: 0, out: `restored 000001: running ETag "${A}"\n`, err: "" });
    expect(requests()).toEqual([`POST /v1/history/${A}/restore`]);
  });

  it("on a terminal: asks naming the entry, and restores only on yes", async () => {
    const questions: string[] = [];
    const no = await history(["restore", A], async (q) => (questions.push(q), false));
    expect([no.code, no.err]).toEqual([1, expect.stringMatching(/restore cancelled; nothing changed/)]);
    expect(questions[0]).toMatch(new RegExp(`"${A}" \\(entry 000001, .*PUT /v1/config/workers\\)`));
    expect(requests()).toEqual([`GET /v1/history/${A}`]);
    expect((await history(["restore", A], async () => true)).code).toBe(0);
    expect((await history(["restore", "--yes", "--persist", A], async () => false)).code).toBe(0);
    expect(requests().slice(1)).toEqual([
      `GET /v1/history/${A}`,
      `POST /v1/history/${A}/restore`,
      `POST /v1/history/${A}/restore?persist=true`,
    ]);
  });

  it("--dry-run asks for the plan and prints it, without asking; --json prints it raw", async () => {
    const r = await history(["restore", "--dry-run", A], async () => false);
    expect(r.code).toBe(0);
    expect(r.out).toContain("/local-data/addresses/old.test.");
    expect(r.out).toContain("kresd:kresd0");
    expect(JSON.parse((await history(["restore", "--dry-run", "--json", A])).out)).toEqual(PLAN);
    expect(requests()).toEqual([
      `POST /v1/history/${A}/restore?dry-run=true`,
      `POST /v1/history/${A}/restore?dry-run=true`,
    ]);
  });

  it("--canary with --persist: both parameters sent; a canary that failed exits 1", async () => {
    const r = await history(["restore", "--dry-run=canary", "--persist", A]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/the canary did not come up/);
    expect(requests()).toEqual([`POST /v1/history/${A}/restore?persist=true&dry-run=canary`]);
  });
});
