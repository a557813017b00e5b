/**
 * Mutated configuration documents for hostile-input tests of the config API: a running config
 * document changed in every way a careless or malicious client could (wrong types everywhere,
 * out-of-range numbers, unknown keys, huge strings, Lua-looking strings, NUL, deep or wide junk),
 * plus request bodies that are no config at all (broken JSON/YAML, wrong media types, over the
 * size limit). Deterministic: a failure names a reproducible input.
 *
 *   for (const m of configMutations(doc)) await apiCall(sock, "PUT", "/v1/config",
 *     { body: m.body, headers: { "content-type": m.contentType } });
 *
 * Not exported from ./index.js: only the API tests need it.
 */
import * as yaml from "js-yaml";
import { configJsonSchema } from "../lib/datamodel/json-schema.js";
import { toPointer } from "../lib/utils/json-pointer.js";
import { hostileStrings } from "./hostile-strings.js";

/** One request body for PUT /v1/config. */
export interface Mutation {
  /** What is in it, for failure messages: e.g. "/workers = -1 (json)". */
  name: string;
  /** Kind of mutation, for the tally: "wrong-type", "range", "unknown-key", "huge", "lua", "nul"… */
  kind: string;
  /** The body as sent. */
  body: string;
  contentType: string;
  /**
   * The refusal expected on HTTP grounds the config parser does not see (e.g. 415 for a charset
   * the server cannot decode); undefined when the body's data decide.
   */
  status?: number;
  /**
   * Data whose cost to walk is the point (YAML aliases standing for billions of nodes): the test
   * must not parse it itself, and any prompt refusal will do.
   */
  opaque?: boolean;
}

type Path = (string | number)[];

/**
 * Wrong values for any place: the same list the datamodel robustness test puts everywhere (empty
 * and control-character strings, negative, zero, fractional and too large numbers, booleans, null,
 * empty and wrong-typed containers).
 */
export const WRONG_VALUES: readonly unknown[] = [
  "",
  "a\nb\u202e",
  "-",
  -1,
  0,
  1.5,
  70000,
  true,
  null,
  [],
  {},
  ["x"],
  [1],
  { x: 1 },
];

/** Strings that try to leave a Lua string literal or comment (`'); os.exit(1) --`, `]]`, newlines…). */
export const LUA_LOOKING: readonly string[] = hostileStrings(48, 66);

/** 1 MiB of text. */
export const MIB = 1 << 20;
/** The API's body limit in bytes (server.ts BODY_LIMIT "4mb"). */
export const BODY_LIMIT_BYTES = 4 * MIB;

const show = (v: unknown): string => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 40)}…(${s.length} chars)` : s;
};

/** Every place in a document: the root, object keys and array items, recursively. */
export function places(doc: unknown, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(doc)) doc.forEach((v, i) => out.push(...places(v, [...at, i])));
  else if (doc && typeof doc === "object")
    for (const [k, v] of Object.entries(doc)) out.push(...places(v, [...at, k]));
  return out;
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[] };

/** Every property path the JSON Schema describes (array items as index 0), as the robustness test walks it. */
export function schemaPlaces(s: Schema, at: Path = [], depth = 0): Path[] {
  if (depth > 8) return [];
  const out: Path[] = [];
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    out.push([...at, k], ...schemaPlaces(sub, [...at, k], depth + 1));
  }
  if (s.items) out.push(...schemaPlaces(s.items, [...at, 0], depth + 1));
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) out.push(...schemaPlaces(alt, at, depth + 1));
  return out;
}

type Container = Record<string, unknown> | unknown[];
const isContainer = (v: unknown): v is Container => typeof v === "object" && v !== null;

/** Sets an own property, even one named "__proto__" (plain assignment would set the prototype). */
function define(obj: Container, key: string | number, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** A copy of doc with value at path, creating objects (or arrays, for an index) on the way. */
export function putAt(doc: unknown, at: Path, value: unknown): unknown {
  if (at.length === 0) return value;
  const root = structuredClone(doc);
  if (!isContainer(root)) return putAt({}, at, value);
  let cur: Container = root;
  for (let i = 0; i < at.length - 1; i++) {
    const key = at[i] as string | number;
    let child = (cur as Record<string | number, unknown>)[key];
    if (!isContainer(child) || !Object.hasOwn(cur, key)) {
      child = typeof at[i + 1] === "number" ? [] : {};
      define(cur, key, child);
    }
    cur = child as Container;
  }
  define(cur, at[at.length - 1] as string | number, value);
  return root;
}

/** The text of data as JSON, or YAML for every `yamlEvery`-th small body, so both parsers get hostile input. */
function serializer(yamlEvery: number): (data: unknown) => { body: string; contentType: string } {
  let n = 0;
  return (data) => {
    n++;
    const json = JSON.stringify(data);
    // Big bodies stay JSON: js-yaml's scalar checks recurse over long strings.
    if (n % yamlEvery === 0 && json.length < 100_000) {
      // Through JSON first: js-yaml refuses objects of another realm (jest's structuredClone).
      const plain = JSON.parse(json) as unknown;
      return { body: yaml.dump(plain, { lineWidth: -1, noRefs: true }), contentType: "application/yaml" };
    }
    return { body: json, contentType: "application/json" };
  };
}

/** Nested junk `depth` levels deep: objects and arrays in turn, a string at the bottom. */
export function deepJson(depth: number): string {
  let open = "";
  let close = "";
  for (let i = 0; i < depth; i++) {
    if (i % 2 === 0) {
      open += '{"a":';
      close = "}" + close;
    } else {
      open += "[";
      close = "]" + close;
    }
  }
  return open + '"bottom"' + close;
}

/**
 * Mutations of `doc` (a running config document, as GET /v1/config gives it), every one a whole
 * config body. Most must be refused; a few are valid on purpose (Lua-looking strings in free text,
 * /nsid and /hostname: only a handful, since each accepted one restarts the workers). Bodies that
 * may block whatever walks them (YAML aliases) come last and are marked `opaque`.
 */
export function configMutations(doc: Record<string, unknown>): Mutation[] {
  const out: Mutation[] = [];
  const ser = serializer(5);
  const add = (kind: string, name: string, data: unknown): void => {
    const { body, contentType } = ser(data);
    out.push({
      kind,
      name: `${name} (${contentType === "application/json" ? "json" : "yaml"})`,
      body,
      contentType,
    });
  };
  const raw = (
    kind: string,
    name: string,
    body: string,
    contentType = "application/json",
    status?: number,
  ): void => {
    out.push({ kind, name, body, contentType, ...(status ? { status } : {}) });
  };
  const opaque = (kind: string, name: string, body: string): void => {
    out.push({ kind, name, body, contentType: "application/yaml", opaque: true });
  };
  /** The document JSON with `member` ("key": value text) added first at the root. */
  const rawMember = (member: string): string => JSON.stringify(doc).replace(/^\{/, `{${member},`);

  // 1. Every wrong value at every place of the running document (the root included).
  for (const at of places(doc)) {
    for (const bad of WRONG_VALUES)
      add("wrong-type", `${toPointer(at) || "/"} = ${show(bad)}`, putAt(doc, at, bad));
  }

  // 2. A wrong value at each place the schema knows but the document does not use.
  const known = new Set(places(doc).map(toPointer));
  const seen = new Set<string>();
  let i = 0;
  for (const at of schemaPlaces(configJsonSchema() as Schema)) {
    const key = toPointer(at);
    if (known.has(key) || seen.has(key) || at[0] === "lua") continue;
    seen.add(key);
    const bad = WRONG_VALUES[(i++ * 5 + 2) % WRONG_VALUES.length];
    add("wrong-type", `${key} = ${show(bad)}`, putAt(doc, at, bad));
  }

  // 3. Numbers out of range, or numbers in strings that do not fit.
  const ranges: [Path, unknown[]][] = [
    [["workers"], [0, -1, 5, 1000, 1e9, 2 ** 53, 2 ** 64, -0.5, 2.5, "0", "-1", "2.5", "autoo", "0x2"]],
    [
      ["cache", "size-max"],
      ["0", "-1M", "1.5.5M", "99999999999999999999999T", "10Q", "M", "1 M", -1, 2 ** 70],
    ],
    [
      ["cache", "ttl-min"],
      ["-1s", "99999999999999999999d", "1x", -5],
    ],
    [
      ["cache", "ttl-max"],
      ["-1s", "1e400s", "0.5.5s"],
    ],
    [
      ["cache", "garbage-collector", "threshold"],
      [101, -1, 1000, "50%"],
    ],
    [
      ["cache", "garbage-collector", "interval"],
      ["-1s", "999999999999999999999d", "1parsec"],
    ],
    [
      ["network", "listen", 0, "interface"],
      [
        "127.0.0.1@0",
        "127.0.0.1@70000",
        "127.0.0.1@-1",
        "256.0.0.1@53",
        "127.0.0.1@99999999999999999999",
        "::1@65536",
        "127.0.0.1@",
      ],
    ],
    [
      ["network", "listen", 0, "port"],
      [0, -1, 65536, 1e10],
    ],
    [
      ["network", "edns-buffer-size"],
      [{ upstream: 70000 }, { downstream: -1 }],
    ],
    [["options", "ttl-min"], [-1]],
    [
      ["logging", "level"],
      ["verbose", "DEBUG ", "", 7],
    ],
  ];
  for (const [at, values] of ranges)
    for (const v of values) add("range", `${toPointer(at)} = ${show(v)}`, putAt(doc, at, v));
  // Numbers JSON can write but no double holds: Infinity, -Infinity, underflow to 0, precision lost.
  for (const n of [
    "1e999",
    "-1e999",
    "1e-999",
    "123456789012345678901234567890",
    "-0",
    "2.00000000000000000001",
  ])
    raw("range", `/workers = ${n} (raw json)`, rawMember(`"workers": ${n}`).replace(/,"workers":\d+/, ""));

  // 4. Unknown keys: at the root and in every object of the document, including prototype names.
  const unknownKeys = [
    "workerz",
    "Workers",
    "",
    " ",
    "workers ",
    "a/b",
    "~0",
    "🎉",
    "\u202e",
    "__proto__",
    "constructor",
    "toString",
    "hasOwnProperty",
    "valueOf",
    "k".repeat(5000),
  ];
  const objects = places(doc).filter((at) => {
    let v: unknown = doc;
    for (const k of at) v = (v as Record<string | number, unknown>)[k];
    return isContainer(v) && !Array.isArray(v);
  });
  for (const at of objects)
    for (const k of unknownKeys)
      add("unknown-key", `${toPointer([...at, k])} = 1`, putAt(doc, [...at, k], 1));
  // A prototype-polluting member that tries to smuggle settings in by inheritance.
  raw(
    "unknown-key",
    `/__proto__ = {workers: 3, nsid: "smuggled"} (raw json)`,
    rawMember(`"__proto__": {"workers": 3, "nsid": "smuggled"}`),
  );
  raw(
    "unknown-key",
    `/constructor/prototype/nsid (raw json)`,
    rawMember(`"constructor": {"prototype": {"nsid": "smuggled"}}`),
  );
  raw(
    "unknown-key",
    "/__proto__ (raw yaml)",
    `__proto__:\n  nsid: smuggled\n${yaml.dump(JSON.parse(JSON.stringify(doc)), { lineWidth: -1 })}`,
    "application/yaml",
  );

  // 5. Huge strings (1 MiB) at many places; bodies just under and over the 4 MiB limit.
  const huge = "x".repeat(MIB);
  for (const at of [
    ["nsid"],
    ["hostname"],
    ["rundir"],
    ["workers"],
    ["cache", "storage"],
    ["cache", "size-max"],
    ["network", "listen", 0, "interface"],
    ["logging", "level"],
    ["junk"],
    ["local-data", "addresses", "one.test."],
  ] as Path[])
    add("huge", `${toPointer(at)} = 1 MiB string`, putAt(doc, at, huge));
  add(
    "huge",
    "/local-data/addresses/<1 MiB name> = 192.0.2.1",
    putAt(doc, ["local-data", "addresses", huge], "192.0.2.1"),
  );
  add("huge", "/<1 MiB key> = 1", putAt(doc, [huge], 1));
  add(
    "huge",
    "/junk = 4 MiB − 4 KiB string (under the limit)",
    putAt(doc, ["junk"], "y".repeat(BODY_LIMIT_BYTES - 4096)),
  );
  add(
    "huge",
    "/nsid = 4.5 MiB string (over the limit)",
    putAt(doc, ["nsid"], "z".repeat(BODY_LIMIT_BYTES + MIB / 2)),
  );
  // Fewer characters than the limit, more bytes: the limit is on bytes.
  add(
    "huge",
    "/nsid = 1.5 M three-byte characters (4.5 MB, over the limit)",
    putAt(doc, ["nsid"], "日".repeat(1.5 * MIB)),
  );
  // A valid config just under the limit: 200 000 addresses for one name (2.8 MB of JSON).
  add(
    "huge",
    "/local-data/addresses/one.test. = 200 000 addresses",
    putAt(
      doc,
      ["local-data", "addresses", "one.test."],
      Array.from({ length: 200_000 }, (_, n) => `10.${n >> 16}.${(n >> 8) & 255}.${n & 255}`),
    ),
  );
  add(
    "huge",
    "/network/listen = 100 000 items",
    putAt(
      doc,
      ["network", "listen"],
      Array.from({ length: 100_000 }, (_, n) => ({ interface: `127.0.0.1@${n}` })),
    ),
  );
  add(
    "huge",
    "/cache = 20 000 unknown keys",
    putAt(doc, ["cache"], Object.fromEntries(Array.from({ length: 20_000 }, (_, n) => [`k${n}`, n]))),
  );

  // 6. Lua-looking strings where they must be refused (numbers, units, addresses, names, levels…),
  // and a few in free text (nsid, hostname), where they are taken as data.
  const refusedAt: Path[] = [
    ["workers"],
    ["cache", "size-max"],
    ["cache", "ttl-max"],
    ["logging", "level"],
    ["network", "listen", 0, "interface"],
    ["cache", "garbage-collector", "interval"],
    ["dns64", "prefix"],
    ["options", "ttl-min"],
  ];
  LUA_LOOKING.forEach((s, n) => {
    const at = refusedAt[n % refusedAt.length] as Path;
    add("lua", `${toPointer(at)} = ${show(s)}`, putAt(doc, at, s));
    // (Plain words are domain names, taken; with punctuation some still are, as upstream: as Lua data.)
    if (!/^[\p{L}\p{N}\p{So}]*$/u.test(s))
      add(
        "lua",
        `/local-data/addresses/${show(s)} = 192.0.2.1`,
        putAt(doc, ["local-data", "addresses", s], "192.0.2.1"),
      );
    add(
      "lua",
      `/local-data/addresses/lua.test. = ${show(s)}`,
      putAt(doc, ["local-data", "addresses", "lua.test."], s),
    );
  });
  const freeText = [
    "'); os.exit(1) --",
    "]]; os.exit(1) --[[",
    '"); os.execute("touch /tmp/pwned") --',
    "a\nos.exit(1)\n--",
    '\\"); os.exit(1) --',
    "]=]==]\r\n%s\u2028🎉",
  ];
  for (const s of freeText) add("lua", `/nsid = ${show(s)}`, putAt(doc, ["nsid"], s));
  for (const s of freeText.slice(0, 2)) add("lua", `/hostname = ${show(s)}`, putAt(doc, ["hostname"], s));

  // 7. NUL characters in values and keys, as JSON escapes and as raw bytes.
  for (const at of [
    ["nsid"],
    ["hostname"],
    ["rundir"],
    ["cache", "storage"],
    ["logging", "level"],
    ["network", "listen", 0, "interface"],
    ["local-data", "addresses", "nul.test."],
  ] as Path[])
    add("nul", `${toPointer(at)} = "a\\0b"`, putAt(doc, at, "a\0b"));
  add("nul", '/nsid = "\\0" alone', putAt(doc, ["nsid"], "\0"));
  add("nul", '/"work\\0ers" = 2', putAt(doc, ["work\0ers"], 2));
  add(
    "nul",
    '/local-data/addresses/"nul\\0.test." = 192.0.2.1',
    putAt(doc, ["local-data", "addresses", "nul\0.test."], "192.0.2.1"),
  );
  raw("nul", "raw NUL byte inside a JSON string", rawMember(`"nsid": "a\0b"`));
  raw("nul", "raw NUL byte in YAML", `nsid: a\0b\n`, "application/yaml");
  raw("nul", "raw NUL byte alone", "\0");

  // 8. Deep junk: nested objects and arrays at an unknown key, at a known one, and as the whole body.
  for (const depth of [50, 99, 101, 500, 1000, 3000, 10_000, 100_000]) {
    raw("deep", `/junk = ${depth} levels (raw json)`, rawMember(`"junk": ${deepJson(depth)}`));
    raw(
      "deep",
      `/cache = ${depth} levels (raw json)`,
      JSON.stringify({ ...doc, cache: "@" }).replace('"cache":"@"', `"cache":${deepJson(depth)}`),
    );
  }
  raw("deep", "whole body 100 000 levels (raw json)", deepJson(100_000));
  for (const depth of [50, 150, 10_000])
    raw("deep", `/junk = ${depth} levels (yaml flow)`, `junk: ${deepJson(depth)}\n`, "application/yaml");
  for (const depth of [50, 150, 1000]) {
    raw(
      "deep",
      `/junk = ${depth} levels (yaml block)`,
      "junk:\n" + Array.from({ length: depth }, (_, n) => `${" ".repeat(n + 1)}- a:`).join("\n") + " 1\n",
      "application/yaml",
    );
  }
  // YAML aliases, last (they may block whoever walks them): first ones that multiply, 1500 names
  // sharing one list of 1500 addresses, a 60 kB body standing for 2.25 million addresses (40 MB
  // written out, ten times the limit); then a body of 600 bytes that nests 10^10 nodes.
  const ips = Array.from({ length: 1500 }, (_, n) => `192.0.${n >> 8}.${n & 255}`);
  const names = Array.from(
    { length: 1500 },
    (_, n) => `    n${n}.test.: ${n === 0 ? `&ips [${ips.join(", ")}]` : "*ips"}`,
  );
  opaque(
    "alias",
    "YAML aliases: 1500 names × one list of 1500 addresses",
    `${yaml.dump(JSON.parse(JSON.stringify(doc)), { lineWidth: -1 })}local-data:\n  addresses:\n${names.join("\n")}\n`,
  );
  const bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let n = 1; n <= 9; n++)
    bomb.push(
      `a${n}: &a${n} [${Array(10)
        .fill(`*a${n - 1}`)
        .join(", ")}]`,
    );
  opaque("alias", "YAML alias bomb at unknown keys", bomb.join("\n") + "\n");
  opaque("alias", "YAML alias bomb at /network/listen", bomb.join("\n") + `\nnetwork:\n  listen: *a9\n`);
  opaque(
    "alias",
    "YAML alias bomb at /local-data/addresses",
    `${bomb.join("\n")}\nlocal-data:\n  addresses:\n${Array.from({ length: 10 }, (_, n) => `    n${n}.test.: *a5`).join("\n")}\n`,
  );

  // 9. Bodies that are no config at all.
  const text = JSON.stringify(doc);
  const bodies: [string, string, string, number?][] = [
    ["truncated JSON", text.slice(0, text.length >> 1), "application/json"],
    ["trailing comma", text.replace(/\}$/, ",}"), "application/json"],
    ["single-quoted JSON", text.replace(/"/g, "'"), "application/json"],
    ["JSON with a comment", `// hi\n${text}`, "application/json"],
    ["two JSON values", `${text} ${text}`, "application/json"],
    ["YAML sent as JSON", "workers: 2\n", "application/json"],
    ["YAML with a tab indent", "cache:\n\tsize-max: 10M\n", "application/yaml"],
    ["YAML duplicate keys", "workers: 2\nworkers: 3\n", "application/yaml"],
    ["YAML two documents", "workers: 2\n---\nworkers: 3\n", "application/yaml"],
    ["YAML unclosed quote", 'nsid: "abc\n', "application/yaml"],
    ["YAML bad indentation", "cache:\n  size-max: 10M\n storage: x\n", "application/yaml"],
    ["YAML unknown tag", "workers: !!python/object:os.system 2\n", "application/yaml"],
    ["YAML undefined alias", "workers: *nope\n", "application/yaml"],
    ["YAML comment only", "# nothing here\n", "application/yaml"],
    ["empty body", "", "application/json"],
    ["whitespace body", " \n\t\n", "application/yaml"],
    ["BOM only", "\ufeff", "application/json"],
    ["null", "null", "application/json"],
    ["empty object", "{}", "application/json"],
    ["array", "[]", "application/json"],
    ["number", "42", "application/json"],
    ["string", '"workers: 2"', "application/json"],
    ["true", "true", "application/json"],
    [
      "binary junk",
      String.fromCharCode(...Array.from({ length: 512 }, (_, n) => (n * 7919) % 256)),
      "application/octet-stream",
    ],
    ["lone surrogates", '{"nsid": "\\ud800\\udfff\\udc00"}', "application/json"],
    ["HTML", "<html><body>hi</body></html>", "text/html"],
    ["form", "workers=3", "application/x-www-form-urlencoded"],
    ["XML", "<workers>3</workers>", "application/xml"],
    ["multipart", "--b\r\n\r\nworkers: 3\r\n--b--", "multipart/form-data; boundary=b"],
    ["bogus media type", text, "json"],
    ["media type with junk parameters", text, "application/json; charset=utf-8; q=;;"],
    ["unknown charset", text, 'application/json; charset="x y"', 415],
    ["UTF-16 charset", text, "application/json; charset=utf-16le", 400],
  ];
  for (const [name, body, contentType, status] of bodies) raw("body", name, body, contentType, status);
  return out;
}
