/**
 * Hostile strings (quotes, `]]`, `\`, newlines, NUL, `--`, control bytes, unicode…) in every
 * free-text field of the config. Each one either gets a clear validation error naming the field's
 * pointer, or reaches kresd literally: the rendered Lua differs from the Lua of a harmless value only
 * by the field's string literal, written by luaStr() (of the value or of a documented transformation
 * of it, e.g. a path made absolute), real kresd 5.6 parses every such file, and for `nsid` and
 * `hostname` kresd ends up holding exactly the value's bytes (NSID over the wire, hostname() over the
 * control socket). Never as code.
 *
 * The fields come from the generated JSON Schema (string leaves without pattern, enum, const or
 * format), so a new free-text field fails this test until FIELDS says how to build a config with it.
 * Validation is non-strict (no file-system checks), as in `kresctl convert --no-strict`.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { ConfigValidationError, type Problem } from "../../lib/datamodel/errors.js";
import { configJsonSchema } from "../../lib/datamodel/json-schema.js";
import { validateConfig } from "../../lib/datamodel/load.js";
import { renderWorkerLua } from "../../lib/datamodel/worker-lua.js";
import { punycode } from "../../lib/datamodel/types/index.js";
import { luaStr } from "../../lib/utils/lua-literal.js";
import { hostileStrings } from "../../harness/hostile-strings.js";
import {
  controlCall,
  ednsOptions,
  kdig,
  luaStringAnswer,
  startKresd,
  tmpDir,
  type Kresd,
} from "../../harness/index.js";

const STRINGS = hostileStrings(512);
const BASE = tmpDir("krm-hostile-");
const CTX = { strict: false, baseDir: BASE, hostname: "krm-hostile-test", cpuCount: 2 };
const abs = (p: string): string => path.resolve(BASE, p);

// ---------------------------------------------------------------------------------------------
// The free-text leaves of the JSON Schema

type Schema = Record<string, unknown>;

/**
 * Pointers of the string leaves not constrained by pattern, enum, const or format; '*' stands for
 * any list index or map key. Follows $ref, anyOf/oneOf/allOf, properties, items, prefixItems,
 * additionalProperties and patternProperties (map values) and propertyNames (map keys, '~key').
 */
function freeTextLeaves(root: Schema): Set<string> {
  const out = new Set<string>();
  const resolve = (ref: string): Schema => {
    let node: unknown = root;
    for (const token of ref.replace(/^#\/?/, "").split("/").filter(Boolean)) {
      node = (node as Schema)[token.replace(/~1/g, "/").replace(/~0/g, "~")];
    }
    return node as Schema;
  };
  const walk = (node: unknown, at: string, seen: Set<unknown>): void => {
    if (typeof node !== "object" || node === null || seen.has(node)) return;
    const s = node as Schema;
    const here = new Set(seen).add(node);
    if (typeof s.$ref === "string") walk(resolve(s.$ref), at, here);
    for (const key of ["anyOf", "oneOf", "allOf"]) {
      if (Array.isArray(s[key])) for (const sub of s[key] as unknown[]) walk(sub, at, here);
    }
    const types = Array.isArray(s.type) ? (s.type as unknown[]) : [s.type];
    const constrained = ["pattern", "enum", "const", "format"].some((k) => s[k] !== undefined);
    if (types.includes("string") && !constrained) out.add(at);
    if (s.properties && typeof s.properties === "object") {
      for (const [k, sub] of Object.entries(s.properties as Schema)) walk(sub, `${at}/${k}`, here);
    }
    if (Array.isArray(s.prefixItems))
      for (const sub of s.prefixItems as unknown[]) walk(sub, `${at}/*`, here);
    walk(s.items, `${at}/*`, here);
    walk(s.additionalProperties, `${at}/*`, here);
    if (s.patternProperties && typeof s.patternProperties === "object") {
      for (const sub of Object.values(s.patternProperties as Schema)) walk(sub, `${at}/*`, here);
    }
    walk(s.propertyNames, `${at}/~key`, here);
  };
  walk(root, "", new Set());
  return out;
}

/** Free-text leaves left out on purpose, with the reason. */
const EXCLUDED: Record<string, string> = {
  "/lua/script":
    "raw Lua by design: the lua section is the one place where the operator writes code for kresd",
};

// ---------------------------------------------------------------------------------------------
// How to put a value into each field

interface Field {
  /** The leaf as freeTextLeaves() names it. */
  schema: string;
  /** Tells apart several ways into one leaf. */
  variant?: string;
  /** Where the value sits in the config that `config` builds. */
  at: string;
  /** Further pointers that a refusal of the value may name (the list holding it). */
  alsoAt?: string[];
  config: (v: string) => Record<string, unknown>;
  /**
   * What reaches the worker Lua, each string as one luaStr() literal: the value itself or a
   * documented transformation of it; [] when nothing of it reaches kresd. Undefined for a field
   * that is always refused.
   */
  lua?: (v: string) => string[];
  /** A valid value, whose rendering the hostile ones are compared with (unless always refused). */
  valid?: string;
  /** Why any value is refused, for a field with no `lua`. */
  alwaysRefused?: string;
}

const ip = (v: string): string[] => [v];
const asPath = (v: string): string[] => [abs(v)];
const nowhere = (): string[] => [];
const ld = (v: Record<string, unknown>) => ({ "local-data": v });
const listen = (entry: Record<string, unknown>) => ({ network: { listen: [entry] } });
const tlsServer = (caFile: string) => ({
  address: "192.0.2.1",
  transport: "tls",
  hostname: "dns.example",
  "ca-file": caFile,
});
/** At least 32 bytes (what freeText32B wants), by padding with 'x'. */
const pad32 = (v: string): string => v + "x".repeat(Math.max(0, 32 - Buffer.byteLength(v)));

const FIELDS: Field[] = [
  // top level
  { schema: "/nsid", at: "/nsid", config: (v) => ({ nsid: v }), lua: (v) => [v], valid: "krm-ph" },
  {
    schema: "/hostname",
    at: "/hostname",
    config: (v) => ({ hostname: v }),
    lua: (v) => [v],
    valid: "krm-ph",
  },
  // kresd's working directory is given on its command line, never in its Lua
  { schema: "/rundir", at: "/rundir", config: (v) => ({ rundir: v }), lua: nowhere, valid: "krm-ph" },
  // management: the manager's own API, nothing of it reaches kresd
  {
    schema: "/management/unix-socket",
    at: "/management/unix-socket",
    config: (v) => ({ management: { "unix-socket": v } }),
    lua: nowhere,
    valid: "krm-ph.sock",
  },
  {
    schema: "/management/interface",
    at: "/management/interface",
    config: (v) => ({ management: { interface: v } }),
    lua: nowhere,
    valid: "127.0.0.1@5000",
  },
  {
    schema: "/management/token-file",
    at: "/management/token-file",
    config: (v) => ({ management: { interface: "127.0.0.1@5000", "token-file": v } }),
    lua: nowhere,
    valid: "krm-ph.token",
  },
  // history, fleet: the manager's own (extensions); nothing of them reaches kresd
  {
    schema: "/history/storage",
    at: "/history/storage",
    config: (v) => ({ history: { storage: v } }),
    lua: nowhere,
    valid: "/var/lib/krm-ph",
  },
  {
    schema: "/fleet/etcd/ca-file",
    at: "/fleet/etcd/ca-file",
    config: (v) => ({
      fleet: { name: "f", node: "n", etcd: { endpoints: ["https://127.0.0.1:2379"], "ca-file": v } },
    }),
    lua: nowhere,
    valid: "krm-ph.pem",
  },
  {
    schema: "/fleet/etcd/cert-file",
    at: "/fleet/etcd/cert-file",
    config: (v) => ({
      fleet: {
        name: "f",
        node: "n",
        etcd: { endpoints: ["https://127.0.0.1:2379"], "cert-file": v, "key-file": "/krm/key.pem" },
      },
    }),
    lua: nowhere,
    valid: "krm-ph.pem",
  },
  {
    schema: "/fleet/etcd/key-file",
    at: "/fleet/etcd/key-file",
    config: (v) => ({
      fleet: {
        name: "f",
        node: "n",
        etcd: { endpoints: ["https://127.0.0.1:2379"], "cert-file": "/krm/cert.pem", "key-file": v },
      },
    }),
    lua: nowhere,
    valid: "krm-ph.pem",
  },
  {
    schema: "/fleet/etcd/username",
    at: "/fleet/etcd/username",
    config: (v) => ({
      fleet: {
        name: "f",
        node: "n",
        etcd: { endpoints: ["https://127.0.0.1:2379"], username: v, password: "p" },
      },
    }),
    lua: nowhere,
    valid: "krm-ph",
  },
  {
    schema: "/fleet/etcd/password",
    at: "/fleet/etcd/password",
    config: (v) => ({
      fleet: {
        name: "f",
        node: "n",
        etcd: { endpoints: ["https://127.0.0.1:2379"], username: "u", password: v },
      },
    }),
    lua: nowhere,
    valid: "krm-ph",
  },
  // network
  {
    schema: "/network/out-interface-v4",
    at: "/network/out-interface-v4",
    config: (v) => ({ network: { "out-interface-v4": v } }),
    lua: ip,
    valid: "192.0.2.1",
  },
  {
    schema: "/network/out-interface-v6",
    at: "/network/out-interface-v6",
    config: (v) => ({ network: { "out-interface-v6": v } }),
    lua: ip,
    valid: "2001:db8::1",
  },
  {
    schema: "/network/address-renumbering/*/source",
    at: "/network/address-renumbering/0/source",
    config: (v) => ({ network: { "address-renumbering": [{ source: v, destination: "10.0.0.0" }] } }),
    lua: ip,
    valid: "192.0.2.0/24",
  },
  {
    schema: "/network/address-renumbering/*/destination",
    at: "/network/address-renumbering/0/destination",
    config: (v) => ({ network: { "address-renumbering": [{ source: "192.0.2.0/24", destination: v }] } }),
    lua: ip,
    valid: "10.0.0.0",
  },
  {
    schema: "/network/tls/cert-file",
    at: "/network/tls/cert-file",
    config: (v) => ({ network: { tls: { "cert-file": v, "key-file": "/krm/key.pem" } } }),
    lua: asPath,
    valid: "krm-ph.pem",
  },
  {
    schema: "/network/tls/key-file",
    at: "/network/tls/key-file",
    config: (v) => ({ network: { tls: { "cert-file": "/krm/cert.pem", "key-file": v } } }),
    lua: asPath,
    valid: "krm-ph.pem",
  },
  {
    schema: "/network/tls/sticket-secret",
    at: "/network/tls/sticket-secret",
    config: (v) => ({ network: { tls: { "sticket-secret": v } } }),
    lua: (v) => [v],
    valid: "krm-ph-0123456789abcdef0123456789abcdef",
  },
  {
    schema: "/network/tls/sticket-secret",
    variant: "padded to 32 bytes",
    at: "/network/tls/sticket-secret",
    config: (v) => ({ network: { tls: { "sticket-secret": pad32(v) } } }),
    lua: (v) => [pad32(v)],
    valid: "krm-ph-0123456789abcdef0123456789abcdef",
  },
  {
    schema: "/network/tls/sticket-secret-file",
    at: "/network/tls/sticket-secret-file",
    config: (v) => ({ network: { tls: { "sticket-secret-file": v } } }),
    lua: asPath,
    valid: "krm-ph.key",
  },
  {
    schema: "/network/proxy-protocol/allow/*",
    at: "/network/proxy-protocol/allow/0",
    config: (v) => ({ network: { "proxy-protocol": { enable: true, allow: [v] } } }),
    lua: ip,
    valid: "192.0.2.0/24",
  },
  {
    schema: "/network/listen/*/interface",
    at: "/network/listen/0/interface",
    config: (v) => listen({ interface: v, port: 5353 }),
    // an interface name: net.interfaces()[name], or an error naming it
    lua: (v) => [v, `network interface '${v}' not found`],
    valid: "krmph0",
  },
  {
    schema: "/network/listen/*/interface/*",
    at: "/network/listen/0/interface/0",
    config: (v) => listen({ interface: [v], port: 5353 }),
    lua: (v) => [v, `network interface '${v}' not found`],
    valid: "krmph0",
  },
  {
    schema: "/network/listen/*/unix-socket",
    at: "/network/listen/0/unix-socket",
    config: (v) => listen({ "unix-socket": v }),
    alwaysRefused: "kresd 5.6 serves DNS on IP addresses and interfaces only",
  },
  {
    schema: "/network/listen/*/unix-socket/*",
    at: "/network/listen/0/unix-socket/0",
    alsoAt: ["/network/listen/0/unix-socket"],
    config: (v) => listen({ "unix-socket": [v] }),
    alwaysRefused: "kresd 5.6 serves DNS on IP addresses and interfaces only",
  },
  // views
  {
    schema: "/views/*/subnets/*",
    at: "/views/0/subnets/0",
    config: (v) => ({ views: [{ subnets: [v], answer: "allow" }] }),
    lua: ip,
    valid: "192.0.2.0/24",
  },
  {
    schema: "/views/*/dst-subnet",
    at: "/views/0/dst-subnet",
    config: (v) => ({ views: [{ subnets: ["192.0.2.0/24"], "dst-subnet": v, answer: "allow" }] }),
    lua: ip,
    valid: "198.51.100.0/24",
  },
  // local-data
  {
    schema: "/local-data/addresses/*",
    at: "/local-data/addresses/a.example",
    config: (v) => ld({ addresses: { "a.example": v } }),
    lua: ip,
    valid: "192.0.2.1",
  },
  {
    schema: "/local-data/addresses/*/*",
    at: "/local-data/addresses/a.example/0",
    config: (v) => ld({ addresses: { "a.example": [v] } }),
    lua: ip,
    valid: "192.0.2.1",
  },
  {
    schema: "/local-data/addresses-files/*",
    at: "/local-data/addresses-files/0",
    config: (v) => ld({ "addresses-files": [v] }),
    lua: asPath,
    valid: "krm-ph.hosts",
  },
  {
    schema: "/local-data/records",
    at: "/local-data/records",
    config: (v) => ld({ records: v }),
    lua: (v) => [v],
    valid: "krm-ph",
  },
  {
    schema: "/local-data/rules/*/address",
    at: "/local-data/rules/0/address",
    config: (v) => ld({ rules: [{ name: "a.example", address: v }] }),
    lua: ip,
    valid: "192.0.2.1",
  },
  {
    schema: "/local-data/rules/*/address/*",
    at: "/local-data/rules/0/address/0",
    config: (v) => ld({ rules: [{ name: "a.example", address: [v] }] }),
    lua: ip,
    valid: "192.0.2.1",
  },
  {
    schema: "/local-data/rules/*/file",
    at: "/local-data/rules/0/file",
    config: (v) => ld({ rules: [{ file: v }] }),
    lua: asPath,
    valid: "krm-ph.hosts",
  },
  {
    schema: "/local-data/rules/*/file/*",
    at: "/local-data/rules/0/file/0",
    config: (v) => ld({ rules: [{ file: [v] }] }),
    lua: asPath,
    valid: "krm-ph.hosts",
  },
  {
    schema: "/local-data/rules/*/records",
    at: "/local-data/rules/0/records",
    config: (v) => ld({ rules: [{ records: v }] }),
    lua: (v) => [v],
    valid: "krm-ph",
  },
  {
    schema: "/local-data/rpz/*/file",
    at: "/local-data/rpz/0/file",
    config: (v) => ld({ rpz: [{ file: v }] }),
    lua: asPath,
    valid: "krm-ph.rpz",
  },
  // forward: rendered as 'address@port' targets; TLS servers with their CA file
  {
    schema: "/forward/*/servers/*",
    at: "/forward/0/servers/0",
    config: (v) => ({ forward: [{ subtree: "a.example", servers: [v] }] }),
    lua: (v) => [`${v}@53`],
    valid: "192.0.2.1",
  },
  {
    schema: "/forward/*/servers/*/address",
    at: "/forward/0/servers/0/address",
    config: (v) => ({ forward: [{ subtree: "a.example", servers: [{ address: v }] }] }),
    lua: (v) => [`${v}@53`],
    valid: "192.0.2.1",
  },
  {
    schema: "/forward/*/servers/*/address/*",
    at: "/forward/0/servers/0/address/0",
    config: (v) => ({ forward: [{ subtree: "a.example", servers: [{ address: [v] }] }] }),
    lua: (v) => [`${v}@53`],
    valid: "192.0.2.1",
  },
  {
    schema: "/forward/*/servers/*/ca-file",
    at: "/forward/0/servers/0/ca-file",
    config: (v) => ({ forward: [{ subtree: "a.example", servers: [tlsServer(v)] }] }),
    lua: asPath,
    valid: "krm-ph.pem",
  },
  // fallback: validated, but kresd 5.6 has no fallback, so a disabled one renders nothing
  {
    schema: "/fallback/servers/*",
    at: "/fallback/servers/0",
    config: (v) => ({ fallback: { servers: [v] } }),
    lua: nowhere,
    valid: "192.0.2.1",
  },
  {
    schema: "/fallback/servers/*/address",
    at: "/fallback/servers/0/address",
    config: (v) => ({ fallback: { servers: [{ address: v }] } }),
    lua: nowhere,
    valid: "192.0.2.1",
  },
  {
    schema: "/fallback/servers/*/address/*",
    at: "/fallback/servers/0/address/0",
    config: (v) => ({ fallback: { servers: [{ address: [v] }] } }),
    lua: nowhere,
    valid: "192.0.2.1",
  },
  {
    schema: "/fallback/servers/*/ca-file",
    at: "/fallback/servers/0/ca-file",
    config: (v) => ({ fallback: { servers: [tlsServer(v)] } }),
    lua: nowhere,
    valid: "krm-ph.pem",
  },
  // cache
  {
    schema: "/cache/storage",
    at: "/cache/storage",
    config: (v) => ({ cache: { storage: v } }),
    lua: (v) => [`lmdb://${abs(v)}`],
    valid: "krm-ph",
  },
  {
    schema: "/cache/prefill/*/url",
    at: "/cache/prefill/0/url",
    config: (v) => ({ cache: { prefill: [{ origin: ".", url: v }] } }),
    lua: (v) => [v],
    valid: "https://krm.invalid/krm-ph",
  },
  {
    schema: "/cache/prefill/*/url",
    variant: "after 'https://krm.invalid/'",
    at: "/cache/prefill/0/url",
    config: (v) => ({ cache: { prefill: [{ origin: ".", url: `https://krm.invalid/${v}` }] } }),
    lua: (v) => [`https://krm.invalid/${v}`],
    valid: "krm-ph",
  },
  {
    schema: "/cache/prefill/*/ca-file",
    at: "/cache/prefill/0/ca-file",
    config: (v) => ({ cache: { prefill: [{ origin: ".", url: "https://krm.invalid/", "ca-file": v }] } }),
    lua: asPath,
    valid: "krm-ph.pem",
  },
  // dnssec
  {
    schema: "/dnssec/trust-anchors/*",
    at: "/dnssec/trust-anchors/0",
    config: (v) => ({ dnssec: { "trust-anchors": [v] } }),
    lua: (v) => [v],
    valid: "example. DS krm-ph",
  },
  {
    schema: "/dnssec/trust-anchors/*",
    variant: "after 'example. DS 1 '",
    at: "/dnssec/trust-anchors/0",
    config: (v) => ({ dnssec: { "trust-anchors": [`example. DS 1 ${v}`] } }),
    lua: (v) => [`example. DS 1 ${v}`],
    valid: "krm-ph",
  },
  {
    schema: "/dnssec/trust-anchors-files/*/file",
    at: "/dnssec/trust-anchors-files/0/file",
    config: (v) => ({ dnssec: { "trust-anchors-files": [{ file: v }] } }),
    lua: asPath,
    valid: "krm-ph.key",
  },
  // dns64: the prefix's address goes to kresd
  {
    schema: "/dns64/prefix",
    at: "/dns64/prefix",
    config: (v) => ({ dns64: { enable: true, prefix: v } }),
    lua: (v) => [v.split("/")[0] as string],
    valid: "64:ff9b:1::/96",
  },
  {
    schema: "/dns64/exclude-subnets/*",
    at: "/dns64/exclude-subnets/0",
    config: (v) => ({ dns64: { enable: true, "exclude-subnets": [v] } }),
    lua: ip,
    valid: "2001:db8::/48",
  },
  // logging, monitoring
  {
    schema: "/logging/dnstap/unix-socket",
    at: "/logging/dnstap/unix-socket",
    config: (v) => ({ logging: { dnstap: { enable: true, "unix-socket": v } } }),
    lua: asPath,
    valid: "krm-ph.sock",
  },
  {
    schema: "/monitoring/graphite/host",
    at: "/monitoring/graphite/host",
    config: (v) => ({ monitoring: { graphite: { enable: true, host: v } } }),
    // a host name goes to kresd in its IDNA (punycode) form
    lua: (v) => [net.isIP(v) ? v : (punycode(v) ?? v)],
    valid: "krm-ph.invalid",
  },
  {
    schema: "/monitoring/graphite/prefix",
    at: "/monitoring/graphite/prefix",
    config: (v) => ({ monitoring: { graphite: { enable: true, host: "127.0.0.1", prefix: v } } }),
    // each worker appends its ID: prefix .. '.' .. worker.id
    lua: (v) => [`${v}.`],
    valid: "krm-ph",
  },
  // lua: a script file is run with dofile(path); the policy-loader keys have no kresd 5.6 meaning
  {
    schema: "/lua/script-file",
    at: "/lua/script-file",
    config: (v) => ({ lua: { "script-file": v } }),
    lua: asPath,
    valid: "krm-ph.lua",
  },
  {
    schema: "/lua/policy-script",
    at: "/lua/policy-script",
    config: (v) => ({ lua: { "policy-script": v } }),
    alwaysRefused: "kresd 5.6 has no policy-loader",
  },
  {
    schema: "/lua/policy-script-file",
    at: "/lua/policy-script-file",
    config: (v) => ({ lua: { "policy-script-file": v } }),
    alwaysRefused: "kresd 5.6 has no policy-loader",
  },
];

const fieldName = (f: Field): string => (f.variant ? `${f.schema} (${f.variant})` : f.schema);

// ---------------------------------------------------------------------------------------------
// Validation and rendering

type Outcome = { refused: Problem[] } | { lua: string };

function outcome(data: Record<string, unknown>): Outcome {
  try {
    return { lua: renderWorkerLua(validateConfig({ rundir: BASE, ...data }, CTX)) };
  } catch (e) {
    if (e instanceof ConfigValidationError) return { refused: e.problems };
    throw e;
  }
}

/** The Lua of `valid`, with each of its literals replaced by the same literal of `value`. */
function expectedLua(f: Field, baseLua: string, value: string): string {
  const lua = f.lua as (v: string) => string[];
  const from = lua(f.valid as string).map(luaStr);
  const to = lua(value).map(luaStr);
  return from.reduce((text, literal, i) => text.split(literal).join(to[i] as string), baseLua);
}

interface Tally {
  accepted: number;
  refused: number;
  messages: Set<string>;
}

const tally = new Map<string, Tally>();
/** Rendered Lua files to parse in kresd: path → the field and string that produced it. */
const rendered = new Map<string, string>();
const renderedText = new Set<string>();
/** The strings accepted in nsid and hostname, with the exact line the renderer emitted. */
const accepted: Record<"nsid" | "hostname", { value: string; line: string }[]> = { nsid: [], hostname: [] };

/** Lines of Lua over one control-socket connection; one answer each, in order. */
const controlLines = (kresd: Kresd, lines: string[]): Promise<string[]> =>
  controlCall(kresd.controlPath, lines, { timeoutMs: 30000 });

/** The NSID option's bytes in kdig's JSON answer (RFC 8427), or undefined when there is none. */
function nsidBytes(raw: string): Buffer | undefined {
  const msg = JSON.parse(raw) as { additionalRRs?: { TYPE?: number; RDATAHEX?: string }[] };
  const opt = (msg.additionalRRs ?? []).find((rr) => rr.TYPE === 41);
  return ednsOptions(opt?.RDATAHEX ?? "").find((o) => o.code === 3)?.data;
}

const show = (v: string): string => JSON.stringify(v);

const NAMED_ESCAPES: Record<string, number> = {
  a: 7,
  b: 8,
  f: 12,
  n: 10,
  r: 13,
  t: 9,
  v: 11,
  "\\": 92,
  '"': 34,
  "'": 39,
};

/**
 * Decodes one Lua short string literal (LuaJIT syntax), independently of luaStr(): the bytes it
 * stands for, or undefined unless `text` is exactly one closed literal with no raw line break.
 */
function decodeLuaLiteral(text: string): Buffer | undefined {
  const src = Buffer.from(text, "utf8");
  const quote = src[0];
  const end = src.length - 1;
  if ((quote !== 0x22 && quote !== 0x27) || end < 1 || src[end] !== quote) return undefined;
  const out: number[] = [];
  for (let i = 1; i < end; i++) {
    const c = src[i] as number;
    if (c === quote || c === 0x0a || c === 0x0d) return undefined; // ends early, or a raw line break
    if (c !== 0x5c) {
      out.push(c);
      continue;
    }
    if (++i >= end) return undefined; // the backslash escapes the closing quote
    const e = String.fromCharCode(src[i] as number);
    if (Object.hasOwn(NAMED_ESCAPES, e)) out.push(NAMED_ESCAPES[e] as number);
    else if (/\d/.test(e)) {
      let digits = e;
      while (digits.length < 3 && i + 1 < end && /\d/.test(String.fromCharCode(src[i + 1] as number)))
        digits += String.fromCharCode(src[++i] as number);
      if (Number(digits) > 255) return undefined;
      out.push(Number(digits));
    } else if (e === "x" && i + 2 < end && /^[0-9a-fA-F]{2}$/.test(src.toString("latin1", i + 1, i + 3))) {
      out.push(parseInt(src.toString("latin1", i + 1, i + 3), 16));
      i += 2;
    } else return undefined; // \z, escaped line breaks…: nothing an escaper should write
  }
  return Buffer.from(out);
}

describe("hostile strings in every free-text field", () => {
  let kresd: Kresd;

  beforeAll(async () => {
    kresd = await startKresd({ lua: "modules.load('nsid')" });
  });
  afterAll(async () => {
    await kresd?.stop();
    if (process.env.KRM_HOSTILE_REPORT === "1") {
      const rows = [...tally].map(
        ([name, t]) =>
          `${name}: ${t.accepted} accepted, ${t.refused} refused ${JSON.stringify([...t.messages].slice(0, 3))}`,
      );
      process.stderr.write(`${rows.join("\n")}\n`);
    }
  });

  it("uses at least 500 distinct strings with every kind of trouble in them", () => {
    expect(new Set(STRINGS).size).toBeGreaterThanOrEqual(500);
    for (const part of ['"', "'", "]]", "[[", "\\", "\n", "\r", "\0", "--", "é", "日本", "🎉", "\u202e"]) {
      expect(STRINGS.filter((s) => s.includes(part)).length).toBeGreaterThan(1);
    }
  });

  it("has a way in for every free-text leaf of the JSON Schema, and no stale one", () => {
    const leaves = freeTextLeaves(configJsonSchema());
    const covered = new Set([...FIELDS.map((f) => f.schema), ...Object.keys(EXCLUDED)]);
    expect([...leaves].filter((l) => !covered.has(l)).sort()).toEqual([]);
    expect([...covered].filter((c) => !leaves.has(c)).sort()).toEqual([]);
  });

  it("refuses each string clearly at the field's pointer, or renders it only as a luaStr() literal", () => {
    const failures: string[] = [];
    for (const f of FIELDS) {
      const name = fieldName(f);
      const t: Tally = { accepted: 0, refused: 0, messages: new Set() };
      tally.set(name, t);
      let baseLua: string | undefined;
      if (f.lua) {
        const base = outcome(f.config(f.valid as string));
        if ("refused" in base) {
          failures.push(
            `${name}: the valid value ${show(f.valid as string)} is refused: ${JSON.stringify(base.refused)}`,
          );
          continue;
        }
        baseLua = base.lua;
        const literals = f.lua(f.valid as string).map(luaStr);
        for (const literal of literals) {
          if (!baseLua.includes(literal))
            failures.push(`${name}: ${literal} is not in the Lua of the valid value`);
        }
      }
      const pointers = [f.at, ...(f.alsoAt ?? [])];
      for (const value of STRINGS) {
        const o = outcome(f.config(value));
        if ("refused" in o) {
          t.refused++;
          const clear =
            o.refused.length > 0 &&
            o.refused.every(
              (p) => pointers.includes(p.pointer) && p.message.trim() !== "" && p.message !== "Invalid input",
            );
          if (!clear) failures.push(`${name} = ${show(value)}: unclear refusal ${JSON.stringify(o.refused)}`);
          for (const p of o.refused) t.messages.add(p.message.split(value).join("<value>"));
          continue;
        }
        t.accepted++;
        if (baseLua === undefined) {
          failures.push(
            `${name} = ${show(value)}: accepted, but the field should always be refused (${f.alwaysRefused})`,
          );
          continue;
        }
        const unsafe = f.lua?.(value).find((lit) => !decodeLuaLiteral(luaStr(lit))?.equals(Buffer.from(lit)));
        if (unsafe !== undefined) {
          failures.push(
            `${name} = ${show(value)}: ${luaStr(unsafe)} is not one Lua literal of ${show(unsafe)}`,
          );
          continue;
        }
        const want = expectedLua(f, baseLua, value);
        if (o.lua !== want) {
          let at = 0;
          while (at < o.lua.length && o.lua[at] === want[at]) at++;
          failures.push(
            `${name} = ${show(value)}: the Lua differs from the expected literal near ${show(o.lua.slice(Math.max(0, at - 40), at + 80))}`,
          );
          continue;
        }
        if (!renderedText.has(o.lua)) {
          renderedText.add(o.lua);
          const file = path.join(BASE, `rendered-${rendered.size}.lua`);
          fs.writeFileSync(file, o.lua);
          rendered.set(file, `${name} = ${show(value)}`);
        }
        const key = f.variant
          ? undefined
          : f.schema === "/nsid"
            ? "nsid"
            : f.schema === "/hostname"
              ? "hostname"
              : undefined;
        if (key) {
          const prefix = key === "nsid" ? "nsid.name(" : "hostname(";
          const line = o.lua.split("\n").find((l) => l.startsWith(prefix));
          if (line === undefined) failures.push(`${name} = ${show(value)}: no '${prefix}' line in the Lua`);
          else accepted[key].push({ value, line });
        }
      }
      if (f.alwaysRefused === undefined && f.lua === undefined)
        failures.push(`${name}: no lua() and no reason to refuse`);
    }
    expect(failures.slice(0, 20)).toEqual([]);
    // The two fields that must take (almost) everything do: only NUL is refused.
    expect(accepted.nsid.length).toBe(STRINGS.filter((s) => !s.includes("\0")).length);
    expect(accepted.hostname.length).toBe(accepted.nsid.length);
  }, 60000);

  it("kresd 5.6 parses every rendered config (loadfile, never run)", async () => {
    expect(rendered.size).toBeGreaterThan(1000);
    const files = [...rendered.keys()];
    const bad: string[] = [];
    for (let i = 0; i < files.length; i += 500) {
      const chunk = files.slice(i, i + 500);
      const answers = await controlLines(
        kresd,
        chunk.map(
          (file) =>
            `(function() local f, e = loadfile(${luaStr(file)}) if f then return 'ok' end return 'bad: ' .. tostring(e) end)()`,
        ),
      );
      answers.forEach((a, j) => {
        if (a !== "'ok'") bad.push(`${rendered.get(chunk[j] as string)}: ${a}`);
      });
    }
    expect(bad.slice(0, 20)).toEqual([]);
  }, 60000);

  it("NSID: kresd answers each accepted string with exactly its UTF-8 bytes", async () => {
    const wrong: string[] = [];
    for (const { value, line } of accepted.nsid) {
      await kresd.control(line);
      const r = await kdig(["@127.0.0.1", "-p", String(kresd.port), "+tcp", "+nsid", "localhost", "A"]);
      const got = nsidBytes(r.raw);
      if (!got?.equals(Buffer.from(value, "utf8"))) wrong.push(`${show(value)}: got ${got?.toString("hex")}`);
    }
    expect(wrong.slice(0, 20)).toEqual([]);
  }, 60000);

  it("hostname: kresd holds each accepted string as exactly its UTF-8 bytes", async () => {
    const answers = await controlLines(
      kresd,
      accepted.hostname.flatMap(({ line }) => [
        line,
        "(hostname():gsub('.', function(c) return string.format('%02x', c:byte()) end))",
      ]),
    );
    const wrong: string[] = [];
    accepted.hostname.forEach(({ value }, i) => {
      const hex = luaStringAnswer(answers[2 * i + 1] as string).toString("latin1");
      if (hex !== Buffer.from(value, "utf8").toString("hex")) wrong.push(`${show(value)}: got ${hex}`);
    });
    expect(wrong.slice(0, 20)).toEqual([]);
  });
});
