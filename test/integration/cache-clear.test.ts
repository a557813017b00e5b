/**
 * POST /cache/clear against a real knot-resolver whose workers forward example.test to a local
 * knotd. Names get cached by asking the resolver for them; the evidence that a record left the
 * cache is its TTL: a cached answer counts down from knotd's 300 s, a fetched one is 300 again.
 */
import { jest } from "@jest/globals";
import * as path from "node:path";
import { KR_CACHE_COMMIT } from "../../lib/datamodel/cache-clear/render.js";
import { RR_TYPES } from "../../lib/datamodel/cache-clear/schema.js";
import { apiCall, type ApiResponse } from "../../harness/api.js";
import {
  controlCall,
  kdigAt,
  luaStringAnswerText,
  startKnotd,
  waitFor,
  type Knotd,
} from "../../harness/index.js";
import { startResolver, type Resolver } from "../../harness/resolver.js";

jest.setTimeout(180_000);

const ZONE_TTL = 300;
const ZONE = `$TTL ${ZONE_TTL}
@        SOA ns hostmaster 1 3600 900 604800 300
@        NS  ns
ns       A   127.0.0.1
www      A   192.0.2.10
www      AAAA 2001:db8::10
www      TXT "www"
mail     A   192.0.2.25
a.sub    A   192.0.2.31
b.sub    A   192.0.2.32
${[1, 2, 3, 4, 5].map((i) => `h${i}.many A 192.0.2.${40 + i}`).join("\n")}
`;

let knotd: Knotd;
let r: Resolver;

const clear = (body?: unknown, headers?: Record<string, string>): Promise<ApiResponse> =>
  apiCall(r.apiSocket, "POST", "/cache/clear", { body, headers });

/** TTL of the answer's first record of `type` for name, asked through the resolver. */
async function ttl(name: string, type: string): Promise<number> {
  const res = await kdigAt(r.port, name, type);
  const rr = res.answers.find((a) => a.type === type);
  if (!rr) throw new Error(`no ${type} for ${name}: ${res.rcode}\n${res.raw}`);
  return rr.ttl;
}

/** Asks for every name/type so they are cached, then waits until their cached TTLs have dropped. */
async function cache(...queries: [string, string][]): Promise<void> {
  for (const [name, type] of queries) await ttl(name, type);
  await new Promise((resolve) => setTimeout(resolve, 1100));
  for (const [name, type] of queries)
    expect([name, type, await ttl(name, type)]).not.toEqual([name, type, ZONE_TTL]);
}

/** Whether the resolver had to fetch name/type again (it was not in the cache). */
async function fetched(name: string, type: string): Promise<boolean> {
  return (await ttl(name, type)) === ZONE_TTL;
}

/** One line of Lua on a worker's control socket (kresd0 unless told); its answer as text. */
async function control(expr: string, worker = "kresd:kresd0"): Promise<string> {
  const pid = await r.pidOf(worker);
  const [answer] = await controlCall(path.join(r.rundir, "control", String(pid)), [expr]);
  return answer as string;
}

/**
 * The number of records in the cache, as a worker sees it. The read transaction is ended after,
 * as kresd 5.6's control socket does not: the worker's next look would see the same snapshot.
 */
async function cacheCount(): Promise<number> {
  return Number(await control(`(function() local n = cache.count(); ${KR_CACHE_COMMIT}; return n end)()`));
}

async function workerPids(): Promise<(number | undefined)[]> {
  return [await r.pidOf("kresd:kresd0"), await r.pidOf("kresd:kresd1")];
}

beforeAll(async () => {
  knotd = await startKnotd({ zones: { "example.test": ZONE } });
  r = await startResolver({
    config: {
      workers: 2,
      forward: [
        { subtree: "example.test", servers: [`127.0.0.1@${knotd.port}`], options: { dnssec: false } },
      ],
    },
  });
});
afterAll(async () => {
  await r?.stop();
  await knotd?.stop();
});

describe("POST /cache/clear", () => {
  it("clears one RR set with exact-name and rr-type, and nothing else of the name", async () => {
    await cache(["www.example.test", "A"], ["www.example.test", "AAAA"]);
    const res = await clear({ name: "www.example.test.", "exact-name": true, "rr-type": "AAAA" });
    expect(res.status).toBe(200);
    expect(res.headers["content-type"]).toMatch(/^application\/json/);
    expect(res.json).toEqual({ count: 1 });
    expect(await fetched("www.example.test", "AAAA")).toBe(true);
    expect(await fetched("www.example.test", "A")).toBe(false);
  });

  it("leaves no cache write lock behind: the other worker still caches, and so answers", async () => {
    // kresd 5.6 keeps the write transaction of a clear by RR type open; without the commit the
    // manager adds, kresd1 would hang on its next cache write (no DNS answers at all).
    await cache(["www.example.test", "A"]);
    expect((await clear({ name: "www.example.test.", "exact-name": true, "rr-type": "A" })).status).toBe(200);
    const [answer] = await controlCall(
      path.join(r.rundir, "control", String(await r.pidOf("kresd:kresd1"))),
      [
        `(function() local ok = pcall(cache.clear, "nothing.example.test.", true, 1); ${KR_CACHE_COMMIT}; return ok end)()`,
      ],
      { timeoutMs: 3000 },
    );
    expect(answer).toBe("true");
    expect(await fetched("www.example.test", "A")).toBe(true);
  });

  it("clears every type of one name with exact-name, and not the names below or beside it", async () => {
    await cache(
      ["www.example.test", "A"],
      ["www.example.test", "AAAA"],
      ["www.example.test", "TXT"],
      ["mail.example.test", "A"],
    );
    const res = await clear({ name: "www.example.test", "exact-name": true });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ count: 3, round: 1 });
    for (const type of ["A", "AAAA", "TXT"]) expect(await fetched("www.example.test", type)).toBe(true);
    expect(await fetched("mail.example.test", "A")).toBe(false);
  });

  it("clears a subtree, and says which apex to clear for proofs of non-existence", async () => {
    await cache(["a.sub.example.test", "A"], ["b.sub.example.test", "A"], ["mail.example.test", "A"]);
    const res = await clear({ name: "sub.example.test." });
    expect(res.status).toBe(200);
    const body = res.json as Record<string, unknown>;
    expect(body).toMatchObject({ count: 2, round: 1 });
    // The closest apex kresd knows here is the root: it caches no NS of the forwarded zone.
    expect(body).toMatchObject({
      subtree: ".",
      not_apex: "to clear proofs of non-existence call cache.clear('.')",
    });
    expect(await fetched("a.sub.example.test", "A")).toBe(true);
    expect(await fetched("b.sub.example.test", "A")).toBe(true);
    expect(await fetched("mail.example.test", "A")).toBe(false);
  });

  it("clears in chunks: the first round answers, the worker finishes the rest by itself", async () => {
    const names = [1, 2, 3, 4, 5].map((i) => `h${i}.many.example.test`);
    await cache(...names.map((n): [string, string] => [n, "A"]));
    const res = await clear({ name: "many.example.test.", "chunk-size": 2 });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      count: 2,
      round: 1,
      chunk_limit: "chunk size limit reached; the default callback will continue asynchronously",
    });
    // Rounds follow 1 ms apart; checking a name re-caches it, so wait before looking.
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const name of names) expect([name, await fetched(name, "A")]).toEqual([name, true]);
  });

  it("clears the whole cache without a body, and reports how many records it held", async () => {
    await cache(["www.example.test", "A"], ["mail.example.test", "A"]);
    const before = await cacheCount();
    expect(before).toBeGreaterThanOrEqual(2);
    const res = await clear();
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ count: before });
    expect(await cacheCount()).toBe(0);
    expect(await fetched("www.example.test", "A")).toBe(true);
  });

  it("takes an empty JSON object as all defaults too", async () => {
    await cache(["mail.example.test", "A"]);
    const res = await clear({});
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ count: expect.any(Number) });
    expect(await fetched("mail.example.test", "A")).toBe(true);
  });

  it("takes upstream kresctl's body without a name (every member sent, the unset ones null): the whole cache", async () => {
    await cache(["www.example.test", "A"]);
    const res = await clear({ "exact-name": false, name: null, "rr-type": null, "chunk-size": 100 });
    expect([res.status, res.json]).toEqual([200, { count: expect.any(Number) }]);
    expect(await cacheCount()).toBe(0);
  });

  it("takes upstream kresctl's body with a name and rr-type null: that subtree", async () => {
    await cache(["a.sub.example.test", "A"], ["www.example.test", "A"]);
    const res = await clear({
      "exact-name": false,
      name: "sub.example.test.",
      "rr-type": null,
      "chunk-size": 100,
    });
    expect(res.status).toBe(200);
    expect(await fetched("a.sub.example.test", "A")).toBe(true);
    expect(await fetched("www.example.test", "A")).toBe(false);
  });

  it("takes YAML as the config routes do", async () => {
    const res = await clear("name: nothing.example.test\nexact-name: true\n", {
      "content-type": "application/yaml",
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ count: 0 });
  });
});

describe("POST /cache/clear refuses bad requests with 400, naming the field", () => {
  const refused = async (body: unknown): Promise<{ error: string; details: string[] }> => {
    const res = await clear(body);
    expect(res.status).toBe(400);
    return res.json as { error: string; details: string[] };
  };

  it("an RR type kresd does not know", async () => {
    const body = await refused({ name: "www.example.test.", "exact-name": true, "rr-type": "BOGUS" });
    expect(body.details).toEqual(["/rr-type: 'BOGUS' is not an RR type kresd knows (e.g. A, AAAA, MX, TXT)"]);
    expect(body.error).toContain("/rr-type");
  });

  it("an unknown key", async () => {
    expect((await refused({ names: "www.example.test." })).details).toEqual(["/names: unknown key"]);
  });

  it("rr-type without exact-name", async () => {
    expect((await refused({ name: "www.example.test.", "rr-type": "A" })).details).toEqual([
      "/rr-type: 'rr-type' is only supported with 'exact-name: true'",
    ]);
  });

  it("a chunk size that would crash kresd 5.6", async () => {
    expect((await refused({ "chunk-size": 1_000_000 })).details).toEqual([
      "/chunk-size: must be at most 10000",
    ]);
  });

  it("a bad name", async () => {
    expect((await refused({ name: "not..a.name" })).details).toEqual([
      "/name: 'not..a.name' is not a valid domain name",
    ]);
  });

  it("a body that is not JSON or YAML", async () => {
    const res = await clear("{name", { "content-type": "application/json" });
    expect(res.status).toBe(400);
    expect((res.json as { error: string }).error).toMatch(/^malformed request body/);
  });

  it("and other methods with 405", async () => {
    const res = await apiCall(r.apiSocket, "GET", "/cache/clear");
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe("POST");
  });
});

describe("kresd 5.6 and the cache clear", () => {
  it("knows every RR type the schema takes, by the same number", async () => {
    const types = JSON.parse(luaStringAnswerText(await control("tojson(kres.type)"))) as Record<
      string,
      number
    >;
    expect(types).toEqual(RR_TYPES);
  });

  it("kept the same workers through all of it", async () => {
    const before = await workerPids();
    await clear({ name: "example.test." });
    await clear({ name: "www.example.test.", "exact-name": true, "chunk-size": 10_000 });
    expect(await workerPids()).toEqual(before);
    await waitFor("an answer", async () => ((await ttl("www.example.test", "A")) > 0 ? true : undefined));
  });
});
