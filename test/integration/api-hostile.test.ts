/**
 * Hostile and concurrent use of the management API against one real knot-resolver (supervisord,
 * manager, two kresd 5.6 workers):
 * - hundreds of mutated configs PUT whole (wrong types everywhere, out-of-range numbers, unknown
 *   keys, huge strings, Lua-looking strings, NUL, deep and wide junk, broken bodies): never a 5xx,
 *   every refusal explains itself (JSON `error`, `problems` with pointers for 422, line and column
 *   for 400), a refused config moves no worker and leaves the config and its ETag as they were; the
 *   mutations that happen to be valid are accepted and run, free text only as Lua data;
 * - hostile pointers (`__proto__`, bad escapes, huge), verbs (deep PATCH bodies) and conditions;
 * - 50 writers with the same If-Match: exactly one wins, the others get 412;
 * - 1000 GETs and 50 PUTs at once: all answered, the config ends as the last accepted change.
 *
 * Which mutations are valid is predicted with the datamodel's own validation, so the refused ones
 * can be sent in batches with one look at the worker PIDs per batch, and the accepted ones (each
 * restarts the workers) one at a time. KRM_HOSTILE_REPORT=1 prints the tally; KRM_DEBUG_LOG=FILE
 * keeps the resolver's log (supervisord, manager, workers) in FILE.
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import type { KresConfig } from "../../lib/datamodel/config.js";
import { ConfigValidationError } from "../../lib/datamodel/errors.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { ChangeRefused } from "../../lib/manager/errors.js";
import { refuseFixedChanges } from "../../lib/manager/runtime-limits.js";
import { BodyParseError, parseBody, UnsupportedMediaType } from "../../lib/utils/body.js";
import { structuralEtag } from "../../lib/utils/etag.js";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import {
  BODY_LIMIT_BYTES,
  configMutations,
  deepJson,
  type Mutation,
} from "../../harness/config-mutations.js";
import { ednsOptions, kdigAt } from "../../harness/index.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

let r: Resolver;
/** Set when the manager stopped answering: the later tests cannot say anything then. */
let hung: string | undefined;
/** The config document and ETag the resolver started with; every test puts it back. */
let original: { doc: Record<string, unknown>; etag: string; config: KresConfig };

const api = (method: string, urlPath: string, req?: Parameters<typeof apiCall>[3]): Promise<ApiResponse> =>
  apiCall(r.apiSocket, method, urlPath, { timeoutMs: 60_000, ...req });

const report = (line: string): void => {
  if (process.env.KRM_HOSTILE_REPORT === "1") process.stderr.write(`${line}\n`);
};

/**
 * What the world looks like: the running kresd processes by name and PID (supervisorctl), the
 * config and its ETag. (A canary that failed stays FATAL in its slot; it never was a worker.)
 */
interface World {
  pids: string;
  running: number;
  etag: string;
  doc: unknown;
}

async function world(): Promise<World> {
  const [status, cfg] = await Promise.all([r.status(), api("GET", "/v1/config")]);
  const rows = [...status].filter(([name, row]) => name.startsWith("kresd:") && row.state === "RUNNING");
  const pids = rows
    .map(([name, row]) => `${name}=${row.pid}`)
    .sort()
    .join(" ");
  return { pids, running: rows.length, etag: cfg.headers.etag as string, doc: cfg.json };
}

/** Differences between two looks at the world, as failure lines ([] when nothing moved). */
function moved(what: string, before: World, after: World): string[] {
  const out: string[] = [];
  if (after.pids !== before.pids) out.push(`${what}: workers moved: ${before.pids} → ${after.pids}`);
  if (after.etag !== before.etag) out.push(`${what}: ETag changed: ${before.etag} → ${after.etag}`);
  if (structuralEtag(after.doc) !== structuralEtag(before.doc)) out.push(`${what}: GET /v1/config changed`);
  return out;
}

async function putBack(): Promise<void> {
  const res = await api("PUT", "/v1/config", { body: original.doc });
  expect(res.status).toBe(200);
  expect(res.headers.etag).toBe(original.etag);
}

/** The NSID option's exact bytes in kdig's answer over TCP (undefined when there is none). */
async function servedNsid(): Promise<Buffer | undefined> {
  const res = await kdigAt(r.port, "+tcp", "+nsid", "localhost", "A");
  const msg = JSON.parse(res.raw) as { additionalRRs?: { TYPE?: number; RDATAHEX?: string }[] };
  const opt = (msg.additionalRRs ?? []).find((rr) => rr.TYPE === 41);
  return ednsOptions(opt?.RDATAHEX ?? "").find((o) => o.code === 3)?.data;
}

/** A whole config PUT; 30 s is far more than any refusal or change (canary included) takes. */
const put = (m: Mutation): Promise<ApiResponse> =>
  api("PUT", "/v1/config", { body: m.body, headers: { "content-type": m.contentType }, timeoutMs: 30_000 });

type Prediction =
  { valid: true; data: unknown; config: KresConfig } | { valid: false; status: number; why: string };

/**
 * What the manager should answer, by the datamodel's own parsing and validation and the run-time
 * limits (rundir, management… cannot change): the refusal status, or valid.
 */
function predict(m: Mutation): Prediction {
  if (m.opaque) return { valid: false, status: 0, why: "not parsed here: any prompt refusal" };
  if (m.status !== undefined) return { valid: false, status: m.status, why: "HTTP level" };
  if (Buffer.byteLength(m.body) > BODY_LIMIT_BYTES)
    return { valid: false, status: 413, why: "over the limit" };
  let data: unknown;
  try {
    data = parseBody(m.body, m.contentType);
  } catch (e) {
    if (e instanceof UnsupportedMediaType) return { valid: false, status: 415, why: e.message };
    if (e instanceof BodyParseError) return { valid: false, status: 400, why: e.message };
    throw e;
  }
  let config: KresConfig;
  try {
    config = validateConfig(data, { baseDir: path.dirname(r.configFile) });
    refuseFixedChanges(original.config, config);
  } catch (e) {
    if (e instanceof ConfigValidationError || e instanceof ChangeRefused)
      return { valid: false, status: 422, why: e.message.split("\n").slice(0, 2).join(" ") };
    throw e;
  }
  return { valid: true, data, config };
}

/**
 * Why a valid mutation must not run in this test (undefined when it may): it would take the
 * harness's offline guard away (lua), move the listening sockets (network), write outside the
 * test's directory (cache storage) or send something off the machine (forward, fallback,
 * monitoring, cache prefill).
 */
function unsafe(data: unknown): string | undefined {
  const doc = data as Record<string, unknown>;
  for (const key of ["lua", "network", "forward", "fallback", "monitoring"]) {
    if (JSON.stringify(doc[key]) !== JSON.stringify(original.doc[key])) return `changes /${key}`;
  }
  const cache = (doc.cache ?? {}) as Record<string, unknown>;
  if (typeof cache === "object" && "prefill" in cache) return "has /cache/prefill";
  // The cache stays in the test's directory (the default one is /var/cache/knot-resolver).
  if (cache.storage !== (original.doc.cache as Record<string, unknown>).storage) return "moves the cache";
  return undefined;
}

/** Failure lines for an answer that is a 5xx or a refusal that does not explain itself. */
function unexplained(name: string, res: ApiResponse): string[] {
  if (res.status === 200) return [];
  const at = `${name}: ${res.status}`;
  if (res.status >= 500) return [`${at} (server error) ${res.text.slice(0, 300)}`];
  if (![400, 413, 415, 422].includes(res.status))
    return [`${at}: unexpected status ${res.text.slice(0, 200)}`];
  const body = res.json as
    { error?: unknown; problems?: unknown; details?: unknown; line?: unknown; column?: unknown } | undefined;
  if (typeof body?.error !== "string" || body.error.trim() === "")
    return [`${at}: no JSON error that explains: ${res.text.slice(0, 200)}`];
  if (res.status === 400 && !(Number.isInteger(body.line) && Number.isInteger(body.column)))
    return [`${at}: a malformed body without line and column: ${res.text.slice(0, 200)}`];
  if (res.status === 422) {
    const problems = body.problems as { pointer?: unknown; message?: unknown }[] | undefined;
    const canary = /canary/.test(body.error) && Array.isArray(body.details) && body.details.length > 0;
    const pointed =
      Array.isArray(problems) &&
      problems.length > 0 &&
      problems.every(
        (p) =>
          typeof p.pointer === "string" &&
          (p.pointer === "" || p.pointer.startsWith("/")) &&
          typeof p.message === "string" &&
          p.message.trim() !== "",
      );
    if (!pointed && !canary) return [`${at}: 422 without problems and pointers: ${res.text.slice(0, 200)}`];
  }
  return [];
}

beforeAll(async () => {
  r = await startResolver({ config: { workers: 2 } });
  const res = await api("GET", "/v1/config");
  const doc = res.json as Record<string, unknown>;
  original = {
    doc,
    etag: res.headers.etag as string,
    config: validateConfig(doc, { baseDir: path.dirname(r.configFile) }),
  };
});
beforeEach(() => {
  if (hung) throw new Error(`the manager stopped answering in an earlier test (${hung})`);
});
afterAll(async () => {
  if (process.env.KRM_DEBUG_LOG) fs.writeFileSync(process.env.KRM_DEBUG_LOG, r?.log ?? "");
  await r?.stop();
});

describe("300+ mutated configs PUT whole", () => {
  it("never answers 5xx, explains every refusal, moves nothing on a refusal and runs what is valid", async () => {
    const mutations = configMutations(original.doc);
    const failures: string[] = [];
    const byStatus = new Map<number, number>();
    const byKind = new Map<string, { sent: number; refused: number; accepted: number; ms: number }>();
    let last = Date.now();
    const count = (m: Mutation, status: number): void => {
      byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
      const k = byKind.get(m.kind) ?? { sent: 0, refused: 0, accepted: 0, ms: 0 };
      k.ms += Date.now() - last;
      last = Date.now();
      k.sent++;
      if (status === 200) k.accepted++;
      else k.refused++;
      byKind.set(m.kind, k);
    };

    const refusals: { m: Mutation; status: number; why: string }[] = [];
    const valid: { m: Mutation; data: unknown; config: KresConfig }[] = [];
    const skipped: string[] = [];
    for (const m of mutations) {
      const p = predict(m);
      if (!p.valid) refusals.push({ m, status: p.status, why: p.why });
      else {
        const why = unsafe(p.data);
        if (why) skipped.push(`${m.name}: ${why}`);
        else valid.push({ m, data: p.data, config: p.config });
      }
    }

    /** One PUT; undefined (and the manager marked hung) when it gives no answer in time. */
    const send = async (m: Mutation): Promise<ApiResponse | undefined> => {
      try {
        const res = await put(m);
        count(m, res.status);
        failures.push(...unexplained(m.name, res));
        return res;
      } catch (e) {
        hung = `${m.name}: no answer: ${(e as Error).message}`;
        failures.push(hung);
        return undefined;
      }
    };

    // The refused ones in batches, one look at the world per batch: nothing may move.
    let mismatches = 0;
    let before = await world();
    expect(before.etag).toBe(original.etag);
    const sendRefusals = async (list: typeof refusals, label: string): Promise<void> => {
      const BATCH = 60;
      for (let i = 0; i < list.length && !hung; i += BATCH) {
        const batch = list.slice(i, i + BATCH);
        let acceptedHere = false;
        for (const { m, status, why } of batch) {
          const res = await send(m);
          if (!res) break;
          if (res.status === 200) {
            acceptedHere = true;
            failures.push(
              m.opaque
                ? `${m.name}: accepted, expected a prompt refusal`
                : `${m.name}: accepted, but the datamodel refuses it (${status}: ${why})`,
            );
          } else if (status !== 0 && res.status !== status && res.status < 500) {
            mismatches++;
            report(`note: ${m.name}: answered ${res.status}, predicted ${status} (${why})`);
          }
        }
        if (hung) break;
        const after = await world();
        failures.push(...moved(`${label} batch ${i / BATCH} (${batch[0]?.m.name} …)`, before, after));
        if (acceptedHere) {
          await putBack();
          before = await world();
        }
      }
    };
    // Bodies whose walk can block whoever walks them go last, so a hang stops nothing else.
    await sendRefusals(
      refusals.filter((x) => !x.m.opaque),
      "refused",
    );

    // The valid ones one at a time: accepted, stored as sent, running; free text only as data.
    const nsidChecked: string[] = [];
    const refusedValid: string[] = [];
    for (const { m, data, config } of hung ? [] : valid) {
      const res = await send(m);
      if (!res) break;
      const after = await world();
      if (res.status !== 200) {
        // Valid, but refused (e.g. by the canary): then nothing may move either.
        refusedValid.push(`${m.name}: ${res.status} ${(res.json as { error?: string } | undefined)?.error}`);
        failures.push(...moved(m.name, before, after));
        continue;
      }
      report(`accepted: ${m.name}`);
      if (after.etag !== res.headers.etag || after.etag !== `"${structuralEtag(data)}"`)
        failures.push(`${m.name}: accepted, but GET /v1/config is not what was sent`);
      if (after.running !== config.workers)
        failures.push(
          `${m.name}: accepted, but ${after.running} of ${config.workers} workers run: ${after.pids}`,
        );
      const nsid = (data as { nsid?: unknown }).nsid;
      if (typeof nsid === "string") {
        const got = await servedNsid();
        if (!got?.equals(Buffer.from(nsid, "utf8")))
          failures.push(
            `${m.name}: accepted, but kresd serves the NSID ${got === undefined ? "not at all" : `as ${got.length} other bytes (${JSON.stringify(got.toString("utf8").slice(0, 40))})`} instead of its ${Buffer.byteLength(nsid)} bytes`,
          );
        else nsidChecked.push(nsid);
      }
      before = after;
    }
    if (!hung) {
      await putBack();
      before = await world();
      expect(before.running).toBe(2);
      await sendRefusals(
        refusals.filter((x) => x.m.opaque),
        "opaque",
      );
    }
    expect(fs.existsSync("/tmp/pwned")).toBe(false);

    const sent = [...byStatus.values()].reduce((a, b) => a + b, 0);
    const accepted = byStatus.get(200) ?? 0;
    report(
      `sent ${sent}, refused ${sent - accepted}, accepted ${accepted}, skipped ${skipped.length} (unsafe to run), ` +
        `${mismatches} refused with another status than predicted; by status ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`,
    );
    for (const [kind, k] of byKind)
      report(`  ${kind}: ${k.sent} sent, ${k.refused} refused, ${k.accepted} accepted (${k.ms} ms)`);
    report(`  NSIDs served exactly: ${nsidChecked.map((s) => JSON.stringify(s.slice(0, 30))).join(", ")}`);
    for (const s of skipped) report(`  skipped ${s}`);
    for (const s of refusedValid) report(`  valid but refused: ${s}`);

    expect(failures.slice(0, 30)).toEqual([]);
    expect(sent).toBeGreaterThanOrEqual(300);
    expect(sent - accepted).toBeGreaterThanOrEqual(300);
    for (const status of [400, 413, 415, 422]) expect(byStatus.get(status) ?? 0).toBeGreaterThan(0);
    // Lua-looking free text was accepted and came back from kresd byte for byte.
    expect(nsidChecked.filter((s) => /os\.exit|\]\]/.test(s)).length).toBeGreaterThanOrEqual(3);
  });
});

describe("hostile pointers, verbs and headers", () => {
  it("never answers 5xx, explains every refusal and moves nothing", async () => {
    const deep = deepJson(10_000);
    const json = { "content-type": "application/json" };
    const requests: [string, string, Parameters<typeof apiCall>[3]][] = [
      ["PATCH", "/v1/config", { body: `{"junk": ${deep}}`, headers: json }],
      ["PATCH", "/v1/config/cache", { body: deep, headers: json }],
      ["PUT", "/v1/config/junk", { body: deep, headers: json }],
      ["PUT", "/v1/config/cache", { body: deep, headers: json }],
      ["POST", "/cache/clear", { body: deep, headers: json }],
      // Prototype names as pointer tokens: nothing may be smuggled in by inheritance.
      ["PUT", "/v1/config/__proto__", { body: { nsid: "smuggled" } }],
      ["PUT", "/v1/config/cache/__proto__", { body: { "size-max": "1M" } }],
      ["PUT", "/v1/config/constructor/prototype", { body: { nsid: "smuggled" } }],
      ["PATCH", "/v1/config", { body: '{"__proto__": {"nsid": "smuggled"}}', headers: json }],
      ["DELETE", "/v1/config/__proto__", {}],
      ["DELETE", "/v1/config/workers/__proto__", {}],
      // JSON Patches: prototype names, amplification by copy, nesting by moves, half-applied changes.
      ["PATCH", "/v1/config", { body: [{ op: "add", path: "/__proto__", value: { nsid: "smuggled" } }] }],
      ["PATCH", "/v1/config/__proto__", { body: [{ op: "add", path: "", value: { nsid: "smuggled" } }] }],
      [
        "PATCH",
        "/v1/config",
        { body: [{ op: "add", path: "/constructor", value: { prototype: { nsid: "smuggled" } } }] },
      ],
      [
        "PATCH",
        "/v1/config",
        { body: Array.from({ length: 40 }, (_, i) => ({ op: "copy", from: "", path: `/c${i}` })) },
      ],
      [
        "PATCH",
        "/v1/config",
        {
          body: Array.from({ length: 2000 }, () => [
            { op: "add", path: "/t", value: {} },
            { op: "move", from: "/cache", path: "/t/cache" },
            { op: "move", from: "/t", path: "/cache" },
          ]).flat(),
        },
      ],
      ["PATCH", "/v1/config", { body: [{ op: "move", from: "", path: "/x" }] }],
      [
        "PATCH",
        "/v1/config",
        {
          body: [
            { op: "add", path: "/nsid", value: "smuggled" },
            { op: "test", path: "/workers", value: "not this" },
          ],
        },
      ],
      [
        "PATCH",
        "/v1/config",
        { body: '[{"op": "add", "path": "/nsid", "value": "smuggled"}, {"op": 1}]', headers: json },
      ],
      ["PATCH", "/v1/config", { body: "{}", headers: { "content-type": "application/json-patch+json" } }],
      // Pointers that are not pointers.
      ["PUT", "/v1/config/%ZZ", { body: 1 }],
      ["PUT", "/v1/config/%00", { body: 1 }],
      ["PUT", "/v1/config/network/listen/99999999999999999999", { body: { interface: "127.0.0.1@1" } }],
      ["PUT", "/v1/config/network/listen/-1", { body: { interface: "127.0.0.1@1" } }],
      ["PUT", `/v1/config/${"a/".repeat(2000)}b`, { body: 1 }],
      ["DELETE", "/v1/config", {}],
      // Conditions that never hold, or are junk.
      ["PUT", "/v1/config/workers", { body: 3, headers: { "if-match": `"${"f".repeat(10_000)}"` } }],
      ["PUT", "/v1/config/workers", { body: 3, headers: { "if-match": '"unterminated, W/"x", ,,' } }],
      ["PUT", "/v1/config/workers", { body: 3, headers: { "if-none-match": "*" } }],
    ];
    const failures: string[] = [];
    let before = await world();
    for (const [method, urlPath, req] of requests) {
      const name = `${method} ${urlPath.slice(0, 60)}`;
      const res = await api(method, urlPath, req);
      report(`${name}: ${res.status} ${res.text.slice(0, 120)}`);
      if (res.status >= 500) failures.push(`${name}: ${res.status} (server error) ${res.text.slice(0, 200)}`);
      else if (res.status < 400)
        failures.push(`${name}: ${res.status}, expected a refusal: ${res.text.slice(0, 200)}`);
      else if (typeof (res.json as { error?: unknown } | undefined)?.error !== "string")
        failures.push(`${name}: ${res.status} without a JSON error: ${res.text.slice(0, 200)}`);
      const after = await world();
      failures.push(...moved(name, before, after));
      before = after;
    }
    expect(await servedNsid()).toBeUndefined();
    expect(failures).toEqual([]);
  });
});

describe("50 concurrent writers with the same If-Match", () => {
  it("lets exactly one win (200), answers the other 49 with 412, and keeps the winner's config", async () => {
    const before = await world();
    const bodies = Array.from({ length: 50 }, (_, i) => ({
      addresses: { "race.test.": `192.0.2.${i + 1}` },
    }));
    const results = await Promise.all(
      bodies.map((body) =>
        api("PUT", "/v1/config/local-data", { body, headers: { "if-match": before.etag } }),
      ),
    );
    const statuses = results.map((res) => res.status);
    expect(statuses.filter((s) => s === 200).length).toBe(1);
    expect(statuses.filter((s) => s === 412).length).toBe(49);
    for (const res of results.filter((x) => x.status === 412))
      expect(res.json).toMatchObject({ error: expect.stringContaining("If-Match") });
    const w = statuses.indexOf(200);
    const final = await api("GET", "/v1/config/local-data");
    expect(final.json).toEqual(bodies[w]);
    expect(final.headers.etag).toBe(results[w]?.headers.etag);
    const answer = await kdigAt(r.port, "race.test.", "A");
    expect(answer.answers.map((a) => a.data)).toEqual([`192.0.2.${w + 1}`]);
    await putBack();
  });

  it("does the same for whole documents read, changed and PUT back", async () => {
    const before = await world();
    const docs = Array.from({ length: 50 }, (_, i) => ({ ...original.doc, nsid: `writer-${i}` }));
    const results = await Promise.all(
      docs.map((body) => api("PUT", "/v1/config", { body, headers: { "if-match": before.etag } })),
    );
    const statuses = results.map((res) => res.status);
    expect([statuses.filter((s) => s === 200).length, statuses.filter((s) => s === 412).length]).toEqual([
      1, 49,
    ]);
    const w = statuses.indexOf(200);
    const after = await world();
    expect(after.etag).toBe(results[w]?.headers.etag);
    expect(after.doc).toEqual(docs[w]);
    expect((await servedNsid())?.toString("utf8")).toBe(`writer-${w}`);
    await putBack();
  });
});

describe("1000 concurrent GETs and 50 concurrent PUTs", () => {
  it("answers all of them, and the config ends as the last accepted change", async () => {
    const GC = "/v1/config/cache/garbage-collector";
    // A setting that restarts no worker (kres-cache-gc's command line only).
    expect((await api("PUT", GC, { body: { interval: "1000ms" } })).status).toBe(200);
    const before = await world();
    const interval = (i: number): string => `${1001 + i}ms`;

    type Done = { kind: string; i: number; res?: ApiResponse; err?: string; order: number };
    let order = 0;
    const ops: (() => Promise<ApiResponse>)[] = [];
    const kinds: { kind: string; i: number }[] = [];
    let puts = 0;
    for (let n = 0; n < 1050; n++) {
      if (n % 21 === 10 && puts < 50) {
        const i = puts++;
        kinds.push({ kind: "PUT", i });
        ops.push(() => api("PUT", GC, { body: { interval: interval(i) } }));
        continue;
      }
      const g = n % 4;
      kinds.push({ kind: ["GET config", "GET gc", "GET /", "GET If-None-Match"][g] as string, i: n });
      if (g === 0) ops.push(() => api("GET", "/v1/config"));
      else if (g === 1) ops.push(() => api("GET", GC));
      else if (g === 2) ops.push(() => api("GET", "/"));
      else ops.push(() => api("GET", "/v1/config", { headers: { "if-none-match": before.etag } }));
    }
    expect(puts).toBe(50);
    const done: Done[] = await Promise.all(
      ops.map((op, n) =>
        op().then(
          (res) => ({ ...(kinds[n] as { kind: string; i: number }), res, order: ++order }),
          (e: Error) => ({ ...(kinds[n] as { kind: string; i: number }), err: e.message, order: ++order }),
        ),
      ),
    );

    expect(done.filter((d) => d.err).map((d) => `${d.kind}: ${d.err}`)).toEqual([]);
    const valuesSeen = new Set([...Array.from({ length: 50 }, (_, i) => interval(i)), "1000ms"]);
    const wrong: string[] = [];
    for (const d of done) {
      const res = d.res as ApiResponse;
      if (d.kind === "PUT") {
        if (res.status !== 200 || JSON.stringify(res.json) !== JSON.stringify({ interval: interval(d.i) }))
          wrong.push(`PUT ${d.i}: ${res.status} ${res.text.slice(0, 100)}`);
      } else if (d.kind === "GET If-None-Match") {
        if (res.status !== 304 && res.status !== 200) wrong.push(`${d.kind}: ${res.status}`);
      } else if (res.status !== 200) wrong.push(`${d.kind}: ${res.status} ${res.text.slice(0, 100)}`);
      // Every GET of the config sees one whole version: its body hashes to the ETag it came with.
      if (d.kind.startsWith("GET") && d.kind !== "GET /" && res.status === 200) {
        if (d.kind !== "GET gc" && `"${structuralEtag(res.json)}"` !== res.headers.etag)
          wrong.push(`${d.kind}: body and ETag of different versions`);
        const gc =
          d.kind === "GET gc"
            ? res.json
            : (res.json as { cache: { "garbage-collector"?: unknown } }).cache["garbage-collector"];
        if (!valuesSeen.has((gc as { interval?: string }).interval as string))
          wrong.push(`${d.kind}: an interval nobody PUT: ${JSON.stringify(gc)}`);
      }
    }
    expect(wrong.slice(0, 20)).toEqual([]);

    const putsDone = done.filter((d) => d.kind === "PUT").sort((a, b) => a.order - b.order);
    expect(new Set(putsDone.map((d) => d.res?.headers.etag)).size).toBe(50);
    const last = putsDone[putsDone.length - 1] as Done;
    const final = await api("GET", GC);
    // The PUT answered last is the change applied last: its value and its ETag are the config's.
    expect([final.json, final.headers.etag]).toEqual([
      { interval: interval(last.i) },
      last.res?.headers.etag,
    ]);
    const status = (await api("GET", "/")).json as { "last-change"?: { source: string; outcome: string } };
    expect(status["last-change"]).toMatchObject({ source: `PUT ${GC}`, outcome: "applied" });
    // None of it restarted a worker; cache-gc runs with the last interval.
    const after = await world();
    expect(after.pids).toBe(before.pids);
    const gcPid = (await r.status()).get("cache-gc")?.pid;
    const argv = fs.readFileSync(`/proc/${gcPid}/cmdline`, "utf8").split("\0");
    expect(argv[argv.indexOf("-d") + 1]).toBe(String(1001 + last.i));
    await putBack();
  });
});
