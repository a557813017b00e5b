/**
 * kresctl import-lua on real processes. For the corpus (test/fixtures/import-lua/):
 *
 * 1. kresd 5.6 agrees with import-lua about each file: the configs it converts load in a real
 *    kresd, and the ones it refuses make kresd refuse them at the same line.
 * 2. Round trip: each config that forwards or answers locally runs as it is in a real kresd 5.6,
 *    and its conversion runs in the manager (harness startResolver: supervisord, kresd workers);
 *    both get the same kdig queries (local names, blocked names, names forwarded to one local
 *    knotd) and must give the same answers: rcode and answer records, TTLs included.
 *
 * What the test substitutes, on both sides alike, is only where things are: the config's own
 * listeners are replaced by one loopback port of the harness, every forward target by the local
 * knotd, files the config names by the corpus's files, the cache by the harness's. For kresd that is
 * a Lua prelude run before the untouched file (dofile), so its line numbers stay the file's; for the
 * manager it is the same edit of the YAML. Both carry the harness's offline guard (harness/offline.ts).
 */
import { jest } from "@jest/globals";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { main } from "../../lib/cli/main.js";
import type { CliIo } from "../../lib/cli/common.js";
import { luaStr, luaValue } from "../../lib/utils/lua-literal.js";
import {
  freePort,
  kdigAt,
  startKnotd,
  startKresd,
  tmpDir,
  type KdigResult,
  type Knotd,
} from "../../harness/index.js";
import { OFFLINE_LUA } from "../../harness/offline.js";
import { Resolvers } from "../../harness/resolver.js";
import { CORPUS_DIR, corpus, type CorpusEntry } from "../fixtures/import-lua/corpus.js";

jest.setTimeout(180_000);

const CORPUS = corpus();
const resolvers = new Resolvers();
afterAll(() => resolvers.stopAll());

const ZONES: Record<string, string> = {
  "example.com": `$TTL 300
@       SOA ns hostmaster 1 3600 900 604800 300
@       NS  ns
ns      A   127.0.0.1
@       MX  10 mail
www     A   192.0.2.80
www     AAAA 2001:db8::80
mail    A   192.0.2.25
mail    MX  10 mail
v4only  A   198.51.100.7
ads     A   192.0.2.66
www.ads A   192.0.2.67
`,
  "example.net": `$TTL 300
@       SOA ns.example.com. hostmaster.example.com. 1 3600 900 604800 300
@       NS  ns.example.com.
www     A   192.0.2.90
ads2    A   192.0.2.92
ads4    A   192.0.2.94
`,
  "corp.example": `$TTL 300
@       SOA ns.example.com. hostmaster.example.com. 1 3600 900 604800 300
@       NS  ns.example.com.
wiki    A   10.1.0.80
`,
  "social.example": `$TTL 300
@       SOA ns.example.com. hostmaster.example.com. 1 3600 900 604800 300
@       NS  ns.example.com.
www     A   192.0.2.99
`,
};

let knotd: Knotd;
/** The corpus's files, copied: kresd may write to what it is given (trust anchor files). */
let filesDir: string;
beforeAll(async () => {
  knotd = await startKnotd({ zones: ZONES });
  filesDir = tmpDir("krm-import-lua-files-");
  fs.cpSync(path.join(CORPUS_DIR, "files"), filesDir, { recursive: true });
});

/** Paths a config names → the copies of the corpus's files that stand for them. */
function copies(files: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(files).map(([k, v]) => [k, path.join(filesDir, path.basename(v))]),
  );
}

async function convert(c: CorpusEntry): Promise<Record<string, unknown>> {
  let out = "";
  let err = "";
  const io: CliIo = { out: (t) => void (out += t), err: (t) => void (err += t), readStdin: () => "" };
  const code = await main(["import-lua", c.file, ...c.args], io, { PATH: process.env.PATH, ...c.env });
  if (code !== 0) throw new Error(`import-lua ${c.name} exited ${code}: ${err}`);
  return yaml.load(out) as Record<string, unknown>;
}

/**
 * Lua run before the corpus file in kresd: listen on `port` only, every forward target is knotd,
 * the files the config names are the corpus's, no user switch, the harness's cache stays.
 */
function prelude(port: number, files: Record<string, string>): string {
  const knot = `127.0.0.1@${knotd.port}`;
  return `-- import-lua round trip: where things are (see the test)
net.listen(${luaStr("127.0.0.1")}, ${port}, { kind = 'dns' })
local files = ${luaValue(files)}
local function file(p) return files[p] or p end
local function to_knot(t)
	if type(t) == 'table' then local o = {} for i in ipairs(t) do o[i] = ${luaStr(knot)} end return o end
	return ${luaStr(knot)}
end
local FORWARD, STUB, rpz = policy.FORWARD, policy.STUB, policy.rpz
policy.FORWARD = function(t) return FORWARD(to_knot(t)) end
policy.STUB = function(t) return STUB(to_knot(t)) end
policy.rpz = function(a, p, w) return rpz(a, file(p), w) end
local add_file = trust_anchors.add_file
trust_anchors.add_file = function(p, ro) return add_file(file(p), ro) end
local listen = net.listen
net.listen = function() return true end
net.tls = function() end
net.outgoing_v4 = function() end
net.outgoing_v6 = function() end
user = function() end
local open, storage = cache.open, cache.current_storage
cache.open = function(size) return open(size, storage) end
`;
}

function kresdLua(c: CorpusEntry, port: number): string {
  // kresd opens its control socket with net.listen after the config: the real one comes back
  return `${prelude(port, copies(c.kresdFiles))}dofile(${luaStr(c.file)})\nnet.listen = listen\n`;
}

/** The same substitutions in the YAML, for the manager (its listener and cache come from the harness). */
function managerConfig(doc: Record<string, unknown>, files: Record<string, string>): Record<string, unknown> {
  const d = structuredClone(doc) as Record<string, Record<string, unknown>>;
  const knot = `127.0.0.1@${knotd.port}`;
  if (d.network) delete d.network.listen;
  if (d.network) for (const k of ["out-interface-v4", "out-interface-v6", "tls"]) delete d.network[k];
  if (d.cache) {
    delete d.cache.storage;
    delete d.cache["size-max"];
  }
  for (const rule of (d.forward as unknown as { servers: unknown[] }[] | undefined) ?? []) {
    rule.servers = rule.servers.map(() => knot);
  }
  const ld = d["local-data"];
  for (const rpz of (ld?.rpz as { file: string }[] | undefined) ?? []) rpz.file = files[rpz.file] ?? rpz.file;
  const lua = d.lua as { script?: string } | undefined;
  // the offline guard stays: after the converted script, as the harness puts it
  return { ...d, workers: 1, lua: { script: `${lua?.script ?? ""}\n${OFFLINE_LUA}` } };
}

interface Answer {
  rcode: string;
  /** 'name type data', sorted; TTLs apart (below). */
  answers: string[];
  ttls: number[];
}

function answerOf(r: KdigResult): Answer {
  const records = r.answers.map((a) => ({ text: `${a.name} ${a.type} ${a.data}`, ttl: a.ttl }));
  records.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
  return { rcode: r.rcode, answers: records.map((a) => a.text), ttls: records.map((a) => a.ttl) };
}

/**
 * The manager's answer as compared with kresd's: a TTL may be up to 2 s lower or higher when one
 * side answered from its cache a second later than the other (the same upstream record); local
 * data (5 s hints, RPZ) has fixed TTLs, which must match.
 */
function alignTtls(mine: Answer, theirs: Answer | undefined): Answer {
  if (!theirs || theirs.ttls.length !== mine.ttls.length) return mine;
  return {
    ...mine,
    ttls: mine.ttls.map((t, i) =>
      Math.abs(t - (theirs.ttls[i] as number)) <= 2 ? (theirs.ttls[i] as number) : t,
    ),
  };
}

async function ask(port: number, [name, type, from]: [string, string, string?]) {
  return answerOf(await kdigAt(port, name, type, ...(from ? ["-b", from] : []), "+timeout=5"));
}

describe("kresd 5.6 agrees with import-lua about each file", () => {
  it.each(CORPUS.filter((c) => c.exit === 0).map((c) => [c.name, c] as const))(
    "%s: converted, and kresd loads it",
    async (_n, c) => {
      const port = await freePort();
      const kresd = await startKresd({
        lua: kresdLua(c, port),
        listen: false,
        port,
        env: { ...process.env, ...c.env },
      });
      // loaded: the control socket answers only after the config ran (startKresd waits for it)
      expect(await kresd.control("worker.pid")).toBe(String(kresd.pid));
      await kresd.stop();
    },
  );

  it.each(CORPUS.filter((c) => c.exit === 1 && c.kresdRejects).map((c) => [c.name, c] as const))(
    "%s: refused by import-lua, and kresd refuses it at the same line",
    async (_n, c) => {
      const port = await freePort();
      const started = startKresd({ lua: kresdLua(c, port), listen: false, port, readyTimeoutMs: 10_000 });
      await expect(started).rejects.toThrow(`${path.basename(c.file)}:${c.error?.line}: ${c.error?.match}`);
    },
  );
});

describe("round trip: kresd 5.6 running the Lua and the manager running the YAML answer alike", () => {
  const trips = CORPUS.filter((c) => c.roundtrip);

  it("covers the configs that forward or answer locally", () => {
    expect(trips.map((c) => c.name)).toEqual(
      expect.arrayContaining([
        "home-router",
        "split-horizon-office",
        "docker-env",
        "loops-functions",
        "dead-rules",
      ]),
    );
    expect(trips.length).toBeGreaterThanOrEqual(10);
  });

  it.each(trips.map((c) => [c.name, c] as const))("%s", async (_n, c) => {
    const rt = c.roundtrip as NonNullable<CorpusEntry["roundtrip"]>;
    const doc = await convert(c);
    const port = await freePort();
    const kresd = await startKresd({
      lua: kresdLua(c, port),
      listen: false,
      port,
      env: { ...process.env, ...c.env },
    });
    const fromKresd: Answer[] = [];
    try {
      for (const q of rt.queries) fromKresd.push(await ask(port, q));
    } finally {
      await kresd.stop();
    }
    const resolver = await resolvers.start({ config: managerConfig(doc, copies(rt.files)) });
    const fromManager: Answer[] = [];
    try {
      for (const [i, q] of rt.queries.entries())
        fromManager.push(alignTtls(await ask(resolver.port, q), fromKresd[i]));
    } finally {
      await resolver.stop();
    }
    const table = (list: Answer[]) => rt.queries.map((q, i) => [q.join(" "), list[i]]);
    expect(table(fromManager)).toEqual(table(fromKresd));
    // Not a comparison of two failures: kresd gives some real answer (data, NXDOMAIN, NODATA…).
    expect(fromKresd.some((a) => a.rcode !== "SERVFAIL")).toBe(true);
  });
});
