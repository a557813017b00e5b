import * as fs from "node:fs";
import { cacheClearLua } from "../../../lib/datamodel/cache-clear/render.js";
import {
  cacheClearResultSchema,
  CHUNK_SIZE_MAX,
  parseCacheClearRequest,
  RR_TYPES,
} from "../../../lib/datamodel/cache-clear/schema.js";
import { InvalidCacheClearRequest, type Problem } from "../../../lib/datamodel/errors.js";
import { hostileStrings } from "../../../harness/hostile-strings.js";

/** The problems parseCacheClearRequest() reports for body (fails the test if it accepts it). */
function problems(body: unknown): Problem[] {
  try {
    parseCacheClearRequest(body);
  } catch (e) {
    if (e instanceof InvalidCacheClearRequest) return e.problems;
    throw e;
  }
  throw new Error(`accepted: ${JSON.stringify(body)}`);
}

const lua = (body: unknown): string => cacheClearLua(parseCacheClearRequest(body));

describe("cache clear request schema", () => {
  it("fills upstream's defaults: no name, not exact, no type, chunks of 100", () => {
    expect(parseCacheClearRequest({})).toEqual({ "exact-name": false, "chunk-size": 100 });
  });

  it("takes no body as all defaults", () => {
    expect(parseCacheClearRequest(undefined)).toEqual(parseCacheClearRequest({}));
  });

  it("keeps every key as given", () => {
    expect(
      parseCacheClearRequest({
        name: "example.com.",
        "exact-name": true,
        "rr-type": "AAAA",
        "chunk-size": 7,
      }),
    ).toEqual({ name: "example.com.", "exact-name": true, "rr-type": "AAAA", "chunk-size": 7 });
  });

  it("takes a null member as absent, as upstream's kresctl sends every member", () => {
    // What upstream's `kresctl cache clear` sends without arguments.
    expect(
      parseCacheClearRequest({ "exact-name": false, name: null, "rr-type": null, "chunk-size": 100 }),
    ).toEqual({ "exact-name": false, "chunk-size": 100 });
    expect(
      parseCacheClearRequest({ name: null, "exact-name": null, "rr-type": null, "chunk-size": null }),
    ).toEqual(parseCacheClearRequest({}));
    expect(parseCacheClearRequest({ name: "example.com.", "rr-type": null })).toEqual({
      name: "example.com.",
      "exact-name": false,
      "chunk-size": 100,
    });
    expect(lua({ name: null, "rr-type": null })).toBe(lua({}));
  });

  it("still refuses an unknown key that is null", () => {
    expect(problems({ exact_name: null, name: null })).toEqual([
      { pointer: "/exact_name", message: "unknown key" },
    ]);
  });

  it("refuses unknown keys with a pointer to them", () => {
    expect(problems({ exact_name: true })).toEqual([{ pointer: "/exact_name", message: "unknown key" }]);
  });

  it("refuses a body that is not an object", () => {
    for (const body of [[], "example.com.", 5, null]) {
      expect(problems(body)).toEqual([
        { pointer: "", message: "expected an object with any of name, exact-name, rr-type, chunk-size" },
      ]);
    }
  });

  it("refuses names that are not domain names", () => {
    expect(problems({ name: "bad..name" })).toEqual([
      { pointer: "/name", message: "'bad..name' is not a valid domain name" },
    ]);
    expect(problems({ name: 5 })).toEqual([{ pointer: "/name", message: "expected a domain name" }]);
  });

  it("refuses a non-boolean exact-name", () => {
    expect(problems({ name: "a.", "exact-name": "true" })).toEqual([
      { pointer: "/exact-name", message: "expected a boolean" },
    ]);
  });

  it("accepts every RR type kresd 5.6 knows, by its upper-case mnemonic", () => {
    for (const type of Object.keys(RR_TYPES)) {
      expect(parseCacheClearRequest({ name: "a.", "exact-name": true, "rr-type": type })["rr-type"]).toBe(
        type,
      );
    }
  });

  it("knows the same RR types as kresd 5.6's kres.type table", () => {
    const kresLua = "/usr/lib/x86_64-linux-gnu/knot-resolver/kres.lua";
    const table = /local const_type = \{([\s\S]*?)\n\}/.exec(fs.readFileSync(kresLua, "utf8"))?.[1] ?? "";
    const entries = [...table.matchAll(/^\s*(?:\['([^']+)'\]|(\w+))\s*=\s*(\d+)/gm)].map((m) => [
      m[1] ?? m[2],
      Number(m[3]),
    ]);
    expect(Object.fromEntries(entries)).toEqual(RR_TYPES);
  });

  it("refuses unknown RR types, naming the field, and suggests the upper-case form", () => {
    expect(problems({ name: "a.", "exact-name": true, "rr-type": "BOGUS" })).toEqual([
      { pointer: "/rr-type", message: "'BOGUS' is not an RR type kresd knows (e.g. A, AAAA, MX, TXT)" },
    ]);
    expect(problems({ name: "a.", "exact-name": true, "rr-type": "aaaa" })).toEqual([
      { pointer: "/rr-type", message: "'aaaa' is not an RR type kresd knows; did you mean 'AAAA'?" },
    ]);
    expect(problems({ name: "a.", "exact-name": true, "rr-type": "TYPE28" })[0]?.pointer).toBe("/rr-type");
    expect(problems({ name: "a.", "exact-name": true, "rr-type": 28 })[0]?.pointer).toBe("/rr-type");
  });

  it("refuses rr-type without exact-name, as upstream", () => {
    expect(problems({ name: "example.com.", "rr-type": "A" })).toEqual([
      { pointer: "/rr-type", message: "'rr-type' is only supported with 'exact-name: true'" },
    ]);
  });

  it("refuses exact-name or rr-type without a name (kresd would clear the whole cache)", () => {
    expect(problems({ "exact-name": true })).toEqual([
      { pointer: "/name", message: "a name is required with 'exact-name: true'" },
    ]);
    expect(problems({ "exact-name": true, "rr-type": "AAAA" })).toEqual([
      { pointer: "/name", message: "a name is required with 'rr-type'" },
    ]);
  });

  it("takes chunk sizes from 1 to CHUNK_SIZE_MAX", () => {
    expect(parseCacheClearRequest({ "chunk-size": 1 })["chunk-size"]).toBe(1);
    expect(parseCacheClearRequest({ "chunk-size": CHUNK_SIZE_MAX })["chunk-size"]).toBe(CHUNK_SIZE_MAX);
    expect(problems({ "chunk-size": 0 })).toEqual([
      { pointer: "/chunk-size", message: "must be at least 1" },
    ]);
    expect(problems({ "chunk-size": CHUNK_SIZE_MAX + 1 })).toEqual([
      { pointer: "/chunk-size", message: `must be at most ${CHUNK_SIZE_MAX}` },
    ]);
    expect(problems({ "chunk-size": 2.5 })).toEqual([
      { pointer: "/chunk-size", message: "expected an integer" },
    ]);
    expect(problems({ "chunk-size": "100" })).toEqual([
      { pointer: "/chunk-size", message: "expected an integer" },
    ]);
  });

  it("says every problem at once, one line each", () => {
    try {
      parseCacheClearRequest({ name: "x..y", "chunk-size": 0, extra: 1 });
      throw new Error("accepted");
    } catch (e) {
      const err = e as InvalidCacheClearRequest;
      expect(err.details).toEqual([
        "/name: 'x..y' is not a valid domain name",
        "/chunk-size: must be at least 1",
        "/extra: unknown key",
      ]);
      expect(err.message).toBe(`invalid cache clear request: ${err.details.join("; ")}`);
    }
  });
});

/** The arguments the Lua passes to kresd's cache.clear(). */
function clearArgs(body: unknown): string {
  const m = /^\(function\(\.\.\.\) .* end\)\((.*)\)$/.exec(lua(body));
  if (!m) throw new Error(`unexpected Lua: ${lua(body)}`);
  return m[1] as string;
}

describe("cache clear Lua for kresd 5.6", () => {
  it("is one expression: the clear, a commit whatever happened, the result as JSON or the error", () => {
    expect(lua({})).toBe(
      "(function(...) local name, exact_name, rr_type, chunk_size = ... " +
        "local ok, res = pcall(cache.clear, name, exact_name, rr_type, chunk_size) " +
        "require('ffi').C.kr_cache_commit(kres.context().cache) " +
        "if not ok then error(res, 0) end return tojson(res) end)(nil, false, nil, 100)",
    );
  });

  it("clears everything without a name (in chunks of the given size)", () => {
    expect(clearArgs({})).toBe("nil, false, nil, 100");
    expect(clearArgs({ "chunk-size": 200 })).toBe("nil, false, nil, 200");
  });

  it("clears a subtree, the name made absolute", () => {
    expect(clearArgs({ name: "example.com" })).toBe('"example.com.", false, nil, 100');
  });

  it("clears one name, keeping the chunk size", () => {
    expect(clearArgs({ name: "example.com.", "exact-name": true, "chunk-size": 10 })).toBe(
      '"example.com.", true, nil, 10',
    );
  });

  it("clears one RR set by kresd's type number, without a chunk size (kresd refuses both)", () => {
    expect(clearArgs({ name: "example.com.", "exact-name": true, "rr-type": "AAAA" })).toBe(
      '"example.com.", true, 28, nil',
    );
    expect(clearArgs({ name: "a.", "exact-name": true, "rr-type": "NSAP-PTR", "chunk-size": 5 })).toBe(
      '"a.", true, 23, nil',
    );
  });

  it("passes international names in their IDNA form", () => {
    expect(clearArgs({ name: "příklad.cz" })).toBe('"xn--pklad-zsa96e.cz.", false, nil, 100');
  });

  it("never lets a value out of its Lua string", () => {
    for (const s of hostileStrings(200)) {
      let args: string;
      try {
        args = clearArgs({ name: s });
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidCacheClearRequest); // refused: nothing reaches Lua
        continue;
      }
      // One Lua string: nothing unescaped that could end it (domain names take any character
      // but the dot in a label, quotes included).
      expect(args).toMatch(/^"(?:[^"\\\p{Cc}]|\\\d{3}|\\[\\"nrt])*", false, nil, 100$/u);
    }
  });
});

describe("cache clear result", () => {
  it("reads what kresd 5.6 answers", () => {
    const answer = {
      count: 100,
      round: 1,
      subtree: "com.",
      not_apex: "to clear proofs of non-existence call cache.clear('com.')",
      chunk_limit: "chunk size limit reached; the default callback will continue asynchronously",
    };
    expect(cacheClearResultSchema.parse(answer)).toEqual(answer);
    expect(cacheClearResultSchema.parse({ count: 1 })).toEqual({ count: 1 });
    expect(cacheClearResultSchema.safeParse({ round: 1 }).success).toBe(false);
  });
});
