/**
 * Bodies built to bloat the manager, and random and hostile documents PUT to /v1/config, against
 * one real knot-resolver (supervisord, manager, two kresd 5.6 workers):
 * - a YAML body of at most 1 MB whose aliases stand for hundreds of megabytes (or gigabytes) is
 *   refused with 413 before anything copies it: the manager's peak RSS grows by less than 100 MB,
 *   and the workers keep running untouched;
 * - a property-based fuzzer (fast-check) PUTs 150 random documents (mutated configs, random JSON
 *   and YAML, alias bombs, deep nesting, random bytes, under any Content-Type and pointer) in
 *   batches: never a 5xx, every refusal a JSON error, the manager answers `GET /` after each one
 *   (the same manager: same PID), and a batch without an accepted change moves no worker and
 *   leaves the ETag as it was. A fresh seed each run, printed on failure (replay: KRM_FUZZ_SEED,
 *   KRM_FUZZ_PATH, see harness/fuzz.ts); KRM_FUZZ_REPORT=1 prints the tally.
 */
import { jest } from "@jest/globals";
import fc from "fast-check";
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { configJsonSchema } from "../../lib/datamodel/json-schema.js";
import { structuralEtag } from "../../lib/utils/etag.js";
import { apiCall, apiRequest, type ApiResponse } from "../../harness/api.js";
import { putAt, schemaPlaces, WRONG_VALUES } from "../../harness/config-mutations.js";
import {
  aliasBomb,
  bodyText,
  contentType,
  fuzzParameters,
  hostileKey,
  hostileString,
  jsonData,
  nestedAliasBomb,
  sharedData,
} from "../../harness/fuzz.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(300_000);

let r: Resolver;
let original: { doc: Record<string, unknown>; etag: string };
let managerPid: number;

const api = (method: string, urlPath: string, req?: Parameters<typeof apiCall>[3]): Promise<ApiResponse> =>
  apiCall(r.apiSocket, method, urlPath, { timeoutMs: 30_000, ...req });

const report = (line: string): void => {
  if (process.env.KRM_FUZZ_REPORT === "1") process.stderr.write(`${line}\n`);
};

/** The running workers by name and PID, and the config's ETag. */
interface World {
  pids: string;
  etag: string;
}

async function world(): Promise<World> {
  const [status, cfg] = await Promise.all([r.status(), api("GET", "/v1/config")]);
  const pids = [...status]
    .filter(([name, row]) => name.startsWith("kresd:") && row.state === "RUNNING")
    .map(([name, row]) => `${name}=${row.pid}`)
    .sort()
    .join(" ");
  return { pids, etag: cfg.headers.etag as string };
}

/** The manager's memory from /proc/<pid>/status, in kB: now (VmRSS) and at its peak (VmHWM). */
function managerMemory(): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${managerPid}/status`, "utf8");
  const kB = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
  return { rss: kB("VmRSS"), peak: kB("VmHWM") };
}

/** Sets the manager's VmHWM back to its VmRSS (Linux clear_refs "5"), so the peak is this test's. */
function resetPeak(): boolean {
  try {
    fs.writeFileSync(`/proc/${managerPid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

async function putBack(): Promise<void> {
  const res = await api("PUT", "/v1/config", { body: original.doc });
  expect([res.status, res.headers.etag]).toEqual([200, original.etag]);
}

beforeAll(async () => {
  r = await startResolver({ config: { workers: 2 } });
  const res = await api("GET", "/v1/config");
  original = { doc: res.json as Record<string, unknown>, etag: res.headers.etag as string };
  managerPid = ((await api("GET", "/")).json as { pid: number }).pid;
});
afterAll(async () => {
  if (process.env.KRM_DEBUG_LOG) fs.writeFileSync(process.env.KRM_DEBUG_LOG, r?.log ?? "");
  await r?.stop();
});

describe("YAML bodies whose aliases stand for far more than they are", () => {
  /** One anchored string of `length` characters and `aliases` aliases of it. */
  const stringBomb = (length: number, aliases: number): string =>
    `nsid: &s "${"x".repeat(length)}"\nlocal-data: {records: [${Array(aliases).fill("*s").join(", ")}]}\n`;
  const bombs: [string, string, number][] = [
    ["0.6 MB standing for 1.2 GB", stringBomb(600_000, 2000), 1.2e9],
    ["0.95 MB standing for 240 MB", stringBomb(950_000, 250), 2.4e8],
    ["0.1 MB standing for 10 GB in 5 levels of 10", nestedAliasBomb(100_000, 10, 5), 1e10],
  ];

  it("are refused with 413 naming the limit, the manager's RSS grows by under 100 MB, the workers stay", async () => {
    const before = await world();
    const exact = resetPeak();
    const start = managerMemory();
    for (const [name, body, stands] of bombs) {
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(1_000_000);
      expect(stands).toBeGreaterThan(200e6);
      for (const type of ["application/yaml", "text/plain", undefined]) {
        for (const path of ["/v1/config", "/v1/config/local-data"]) {
          const started = Date.now();
          const res = await apiRequest(r.apiSocket, "PUT", path, {
            payload: body,
            headers: type ? { "content-type": type } : {},
          });
          report(`${name} (${type ?? "no type"}) → ${path}: ${res.status} in ${Date.now() - started} ms`);
          expect([res.status, res.json]).toEqual([
            413,
            {
              error:
                "the request body stands for more than 16777216 bytes (16 MiB) of JSON text once YAML aliases are expanded",
            },
          ]);
          // Answered between the bombs: the manager is not busy copying.
          expect((await api("GET", "/", { timeoutMs: 2000 })).status).toBe(200);
        }
      }
    }
    const end = managerMemory();
    const growthMB =
      ((exact ? end.peak : Math.max(end.rss, end.peak - start.peak + start.rss)) - start.rss) / 1024;
    report(
      `manager ${managerPid}: VmRSS ${start.rss} kB before, ${end.rss} kB after, peak ${end.peak} kB` +
        ` (${exact ? "reset before the bombs" : "since start: an upper bound"}); growth ${growthMB.toFixed(1)} MB`,
    );
    expect(growthMB).toBeLessThan(100);
    expect(await world()).toEqual(before);
    expect(((await api("GET", "/")).json as { pid: number }).pid).toBe(managerPid);
  });
});

// ---- the fuzzer ----

/**
 * Top-level sections the fuzzer may fill with anything: none that could take the harness's offline
 * guard away (lua), move the sockets (network), send traffic off the machine (forward, fallback,
 * monitoring), write outside the test's directory or size the cache (cache), log elsewhere
 * (logging) or change the number of workers; rundir and management cannot change at run time.
 */
const FUZZED_SECTIONS = new Set([
  "nsid",
  "hostname",
  "options",
  "dnssec",
  "dns64",
  "local-data",
  "views",
  "rate-limiting",
  "defer",
  "rundir",
  "management",
]);

/** One PUT: where, what text, which Content-Type. */
interface FuzzRequest {
  kind: string;
  path: string;
  body: string;
  contentType: string | undefined;
}

/** The URL of a pointer (each token percent-encoded). */
const urlOf = (pointer: string[]): string =>
  "/v1/config" + pointer.map((t) => "/" + encodeURIComponent(t)).join("");

function fuzzRequests(): fc.Arbitrary<FuzzRequest> {
  const places = schemaPlaces(configJsonSchema() as never).filter((p) => FUZZED_SECTIONS.has(String(p[0])));
  const value = fc.oneof(fc.constantFrom(...WRONG_VALUES), jsonData, hostileString);
  // The running config with 1-3 places changed, and maybe one more key of any name anywhere.
  const mutated = fc
    .tuple(
      fc.array(fc.tuple(fc.constantFrom(...places), value), { minLength: 1, maxLength: 3 }),
      fc.option(fc.tuple(fc.constantFrom(...places, []), hostileKey, value)),
    )
    .map(([edits, extra]) => {
      let doc: unknown = original.doc;
      for (const [at, v] of edits) doc = putAt(doc, at, v);
      if (extra) doc = putAt(doc, [...extra[0], extra[1]], extra[2]);
      return JSON.parse(JSON.stringify(doc)) as unknown; // back to this realm, for js-yaml
    });
  const serialized = (data: fc.Arbitrary<unknown>) =>
    fc.tuple(data, fc.boolean(), contentType).map(([d, asYaml, type]) => ({
      body: asYaml ? yaml.dump(d) : (JSON.stringify(d) ?? "null"),
      contentType: type,
    }));
  const pointer = fc.oneof(
    { arbitrary: fc.constant([] as string[]), weight: 4 },
    { arbitrary: fc.constantFrom(...places).map((p) => p.map(String)), weight: 2 },
    { arbitrary: fc.array(hostileKey, { minLength: 1, maxLength: 3 }), weight: 1 },
  );
  return fc.oneof(
    {
      arbitrary: fc.tuple(serialized(mutated), pointer).map(([b, p]) => ({
        kind: "mutated config",
        path: urlOf(p),
        ...b,
      })),
      weight: 5,
    },
    {
      arbitrary: fc.tuple(serialized(fc.oneof(jsonData, sharedData)), pointer).map(([b, p]) => ({
        kind: "random data",
        path: urlOf(p),
        ...b,
      })),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(bodyText, contentType, pointer).map(([body, type, p]) => ({
        kind: "random text",
        path: urlOf(p),
        body,
        contentType: type,
      })),
      weight: 2,
    },
    {
      arbitrary: fc.tuple(aliasBomb, pointer).map(([body, p]) => ({
        kind: "alias bomb",
        path: urlOf(p),
        body,
        contentType: "application/yaml",
      })),
      weight: 1,
    },
  );
}

describe("PUT /v1/config fuzzed with random and hostile documents", () => {
  const BATCHES = 15;
  const PER_BATCH = 10;

  it(`never answers 5xx, stays responsive, and moves nothing on a refusal (${BATCHES * PER_BATCH} requests)`, async () => {
    const byStatus = new Map<string, number>();
    let before = await world();
    expect(before.etag).toBe(original.etag);

    /** Failure lines for one answer (none when it is fine). */
    const check = async (req: FuzzRequest, res: ApiResponse): Promise<string[]> => {
      const key = `${req.kind} ${res.status}`;
      byStatus.set(key, (byStatus.get(key) ?? 0) + 1);
      const what = `${req.kind}: PUT ${req.path.slice(0, 80)} (${req.contentType ?? "no type"}): ${res.status}`;
      const out: string[] = [];
      if (res.status >= 500) out.push(`${what} (server error) ${res.text.slice(0, 300)}`);
      else if (res.status !== 200 && typeof (res.json as { error?: unknown } | undefined)?.error !== "string")
        out.push(`${what} without a JSON error: ${res.text.slice(0, 200)}`);
      const status = await api("GET", "/", { timeoutMs: 5000 }).catch((e: Error) => e);
      if (status instanceof Error) out.push(`${what}: GET / gives no answer after it: ${status.message}`);
      else if ((status.json as { pid?: number }).pid !== managerPid)
        out.push(
          `${what}: the manager restarted (pid ${managerPid} → ${(status.json as { pid?: number }).pid})`,
        );
      return out;
    };

    await fc.assert(
      fc.asyncProperty(
        fc.array(fuzzRequests(), { minLength: PER_BATCH, maxLength: PER_BATCH }),
        async (batch) => {
          const failures: string[] = [];
          for (const req of batch) {
            const res = await apiRequest(r.apiSocket, "PUT", req.path, {
              payload: req.body,
              headers: req.contentType === undefined ? {} : { "content-type": req.contentType },
              timeoutMs: 30_000,
            }).catch((e: Error) => e);
            if (res instanceof Error) {
              failures.push(`${req.kind}: PUT ${req.path.slice(0, 80)}: no answer: ${res.message}`);
              break;
            }
            failures.push(...(await check(req, res)));
            if (res.status === 200) {
              // Accepted (and running): the config is what was sent; then back to the original.
              const now = await api("GET", "/v1/config");
              if (now.headers.etag !== res.headers.etag)
                failures.push(`${req.kind}: accepted, but not the config now`);
              report(`accepted: ${req.kind} PUT ${req.path} ${req.body.slice(0, 100)}`);
              await putBack();
              before = await world();
            }
          }
          const after = await world();
          if (after.pids !== before.pids)
            failures.push(`refusals moved workers: ${before.pids} → ${after.pids}`);
          if (after.etag !== before.etag)
            failures.push(`refusals changed the ETag: ${before.etag} → ${after.etag}`);
          before = after;
          if (failures.length > 0) throw new Error(failures.slice(0, 10).join("\n"));
        },
      ),
      // Against a real manager: no shrinking (it would replay PUTs for minutes); the seed replays.
      fuzzParameters(BATCHES, { endOnFailure: true }),
    );
    report(`by kind and status: ${JSON.stringify(Object.fromEntries([...byStatus].sort()))}`);
    expect(structuralEtag((await api("GET", "/v1/config")).json)).toBe(original.etag.replace(/"/g, ""));
  });
});
