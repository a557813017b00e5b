import { etagMatches, formatEtag, structuralEtag } from "../../../lib/utils/etag.js";

describe("structuralEtag", () => {
  it("is 32 lowercase hex digits, the same for the same data", () => {
    const tag = structuralEtag({ cache: { "size-max": "100M" } });
    expect(tag).toMatch(/^[0-9a-f]{32}$/);
    expect(structuralEtag({ cache: { "size-max": "100M" } })).toBe(tag);
  });

  it("does not depend on key order, at any depth", () => {
    const a = { workers: 2, network: { listen: [{ interface: "127.0.0.1" }], "tcp-pipeline": 100 } };
    const b = { network: { "tcp-pipeline": 100, listen: [{ interface: "127.0.0.1" }] }, workers: 2 };
    expect(structuralEtag(a)).toBe(structuralEtag(b));
  });

  it("is the sha256 of canonical JSON, so other tools can compute it", () => {
    // printf %s '{"a":[1,"x",null],"b":true}' | sha256sum, first 32 hex digits
    expect(structuralEtag({ b: true, a: [1, "x", null] })).toBe("4d7b28d08614fa6b95c30756c0ebb163");
  });

  it("changes with any value, array order, or type", () => {
    const tags = [
      { a: 1 },
      { a: 2 },
      { a: "1" },
      { b: 1 },
      { a: [1, 2] },
      { a: [2, 1] },
      { a: null },
      {},
      [],
      null,
      "",
    ].map(structuralEtag);
    expect(new Set(tags).size).toBe(tags.length);
  });

  it("tells keys apart from values and nesting (no ambiguous concatenation)", () => {
    expect(structuralEtag({ "a,b": 1 })).not.toBe(structuralEtag({ a: 1, b: 1 }));
    expect(structuralEtag({ a: { b: 1 } })).not.toBe(structuralEtag({ "a.b": 1 }));
    expect(structuralEtag(['a","b'])).not.toBe(structuralEtag(["a", "b"]));
  });

  it("follows JSON: undefined members are absent, undefined array items are null", () => {
    expect(structuralEtag({ a: 1, b: undefined })).toBe(structuralEtag({ a: 1 }));
    expect(structuralEtag([undefined])).toBe(structuralEtag([null]));
    expect(structuralEtag(undefined)).toBe(structuralEtag(null));
  });
});

describe("formatEtag", () => {
  it("quotes the tag for the ETag header", () => {
    expect(formatEtag("abc123")).toBe('"abc123"');
    expect(formatEtag(structuralEtag({}))).toMatch(/^"[0-9a-f]{32}"$/);
  });

  it("refuses what cannot stand in a quoted entity-tag", () => {
    expect(() => formatEtag('a"b')).toThrow(TypeError);
    expect(() => formatEtag("a b")).toThrow(TypeError);
    expect(() => formatEtag("a\r\nX-Injected: 1")).toThrow(TypeError);
  });
});

describe("etagMatches (If-Match / If-None-Match, RFC 9110 §13.1)", () => {
  const tag = "0123abcd";

  it("matches the quoted tag alone or anywhere in a list", () => {
    expect(etagMatches('"0123abcd"', tag)).toBe(true);
    expect(etagMatches('"other", "0123abcd"', tag)).toBe(true);
    expect(etagMatches('"0123abcd","other"', tag)).toBe(true);
  });

  it("does not match other tags, prefixes or extensions of the tag", () => {
    expect(etagMatches('"other"', tag)).toBe(false);
    expect(etagMatches('"0123abc"', tag)).toBe(false);
    expect(etagMatches('"0123abcde"', tag)).toBe(false);
    expect(etagMatches('"0123ABCD"', tag)).toBe(false);
  });

  it("compares weakly: W/ is ignored", () => {
    expect(etagMatches('W/"0123abcd"', tag)).toBe(true);
    expect(etagMatches('"x", W/"0123abcd"', tag)).toBe(true);
    expect(etagMatches('W/"other"', tag)).toBe(false);
  });

  it("matches anything with *", () => {
    expect(etagMatches("*", tag)).toBe(true);
    expect(etagMatches("  *  ", tag)).toBe(true);
    // A quoted "*" is an ordinary tag, not the wildcard.
    expect(etagMatches('"*"', tag)).toBe(false);
  });

  it("tolerates whitespace and empty list elements", () => {
    expect(etagMatches('  "a" ,\t "0123abcd"  ', tag)).toBe(true);
    expect(etagMatches(', ,"0123abcd",', tag)).toBe(true);
    expect(etagMatches("", tag)).toBe(false);
    expect(etagMatches(" , ", tag)).toBe(false);
  });

  it("keeps commas inside quotes as part of the tag", () => {
    expect(etagMatches('"a,b"', "a,b")).toBe(true);
    expect(etagMatches('"a,b"', "a")).toBe(false);
    expect(etagMatches('"a,0123abcd"', tag)).toBe(false);
  });

  it("accepts unquoted tags, as some clients send them", () => {
    expect(etagMatches("0123abcd", tag)).toBe(true);
    expect(etagMatches("other, 0123abcd", tag)).toBe(true);
    expect(etagMatches("W/0123abcd", tag)).toBe(true);
    expect(etagMatches("0123abcd0", tag)).toBe(false);
  });

  it("reads an unterminated quote to the end of the list", () => {
    expect(etagMatches('"0123abcd', tag)).toBe(true);
    expect(etagMatches('"x", "0123abcd', tag)).toBe(true);
  });

  it("matches nothing without a header", () => {
    expect(etagMatches(undefined, tag)).toBe(false);
  });

  it("accepts the tag as formatEtag wrote it", () => {
    expect(etagMatches('"0123abcd"', formatEtag(tag))).toBe(true);
    expect(etagMatches("0123abcd", formatEtag(tag))).toBe(true);
  });

  it("matches its own ETag header round trip", () => {
    const t = structuralEtag({ workers: 4 });
    expect(etagMatches(formatEtag(t), t)).toBe(true);
    expect(etagMatches(formatEtag(structuralEtag({ workers: 5 })), t)).toBe(false);
  });
});
