import {
  applyJsonPatch,
  InvalidJsonPatch,
  jsonEqual,
  JsonPatchConflict,
  JsonPatchTestFailed,
  parseJsonPatch,
} from "../../../lib/utils/json-patch.js";
import { NOT_EXPANDED_MS } from "../../../harness/fuzz.js";

/** The error applyJsonPatch throws, for looking at its fields. */
function failure(doc: unknown, patch: unknown, base?: string): Error {
  try {
    applyJsonPatch(doc, patch, base);
  } catch (e) {
    return e as Error;
  }
  throw new Error("the patch applied");
}

describe("RFC 6902 appendix A: the RFC's own examples", () => {
  it.each([
    [
      "A.1 adding an object member",
      { foo: "bar" },
      [{ op: "add", path: "/baz", value: "qux" }],
      { baz: "qux", foo: "bar" },
    ],
    [
      "A.2 adding an array element",
      { foo: ["bar", "baz"] },
      [{ op: "add", path: "/foo/1", value: "qux" }],
      { foo: ["bar", "qux", "baz"] },
    ],
    [
      "A.3 removing an object member",
      { baz: "qux", foo: "bar" },
      [{ op: "remove", path: "/baz" }],
      { foo: "bar" },
    ],
    [
      "A.4 removing an array element",
      { foo: ["bar", "qux", "baz"] },
      [{ op: "remove", path: "/foo/1" }],
      { foo: ["bar", "baz"] },
    ],
    [
      "A.5 replacing a value",
      { baz: "qux", foo: "bar" },
      [{ op: "replace", path: "/baz", value: "boo" }],
      { baz: "boo", foo: "bar" },
    ],
    [
      "A.6 moving a value",
      { foo: { bar: "baz", waldo: "fred" }, qux: { corge: "grault" } },
      [{ op: "move", from: "/foo/waldo", path: "/qux/thud" }],
      { foo: { bar: "baz" }, qux: { corge: "grault", thud: "fred" } },
    ],
    [
      "A.7 moving an array element",
      { foo: ["all", "grass", "cows", "eat"] },
      [{ op: "move", from: "/foo/1", path: "/foo/3" }],
      { foo: ["all", "cows", "eat", "grass"] },
    ],
    [
      "A.8 testing a value: success",
      { baz: "qux", foo: ["a", 2, "c"] },
      [
        { op: "test", path: "/baz", value: "qux" },
        { op: "test", path: "/foo/1", value: 2 },
      ],
      { baz: "qux", foo: ["a", 2, "c"] },
    ],
    [
      "A.10 adding a nested member object",
      { foo: "bar" },
      [{ op: "add", path: "/child", value: { grandchild: {} } }],
      { foo: "bar", child: { grandchild: {} } },
    ],
    [
      "A.11 ignoring unrecognized elements",
      { foo: "bar" },
      [{ op: "add", path: "/baz", value: "qux", xyz: 123 }],
      { foo: "bar", baz: "qux" },
    ],
    [
      "A.14 ~ escape ordering",
      { "/": 9, "~1": 10 },
      [{ op: "test", path: "/~01", value: 10 }],
      { "/": 9, "~1": 10 },
    ],
    [
      "A.16 adding an array value",
      { foo: ["bar"] },
      [{ op: "add", path: "/foo/-", value: ["abc", "def"] }],
      { foo: ["bar", ["abc", "def"]] },
    ],
  ])("%s", (_name, doc, patch, expected) => {
    expect(applyJsonPatch(doc, patch)).toEqual(expected);
  });

  it("A.9 testing a value: error", () => {
    expect(() => applyJsonPatch({ baz: "qux" }, [{ op: "test", path: "/baz", value: "bar" }])).toThrow(
      JsonPatchTestFailed,
    );
  });

  it("A.12 adding to a nonexistent target: error", () => {
    expect(() => applyJsonPatch({ foo: "bar" }, [{ op: "add", path: "/baz/bat", value: "qux" }])).toThrow(
      JsonPatchConflict,
    );
  });

  it("A.13 a duplicate 'op' member: JSON parsing keeps the last one, which then fails", () => {
    const patch: unknown = JSON.parse('[{ "op": "add", "path": "/baz", "value": "qux", "op": "remove" }]');
    expect(() => applyJsonPatch({ foo: "bar" }, patch)).toThrow(JsonPatchConflict);
  });

  it("A.15 comparing strings and numbers: error", () => {
    expect(() => applyJsonPatch({ "/": 9, "~1": 10 }, [{ op: "test", path: "/~01", value: "10" }])).toThrow(
      JsonPatchTestFailed,
    );
  });
});

describe("each operation", () => {
  const doc = { a: { b: 1, list: [1, 2, 3] }, s: "x" };

  it("add replaces an existing member, and inserts into an array at an index, at its end or with '-'", () => {
    expect(applyJsonPatch(doc, [{ op: "add", path: "/a/b", value: 9 }])).toEqual({
      ...doc,
      a: { ...doc.a, b: 9 },
    });
    const list = (patch: unknown) => (applyJsonPatch(doc, patch) as typeof doc).a.list;
    expect(list([{ op: "add", path: "/a/list/0", value: 0 }])).toEqual([0, 1, 2, 3]);
    expect(list([{ op: "add", path: "/a/list/3", value: 4 }])).toEqual([1, 2, 3, 4]);
    expect(list([{ op: "add", path: "/a/list/-", value: 4 }])).toEqual([1, 2, 3, 4]);
  });

  it("add, replace or copy at '' replace the whole document", () => {
    expect(applyJsonPatch(doc, [{ op: "add", path: "", value: { n: 1 } }])).toEqual({ n: 1 });
    expect(applyJsonPatch(doc, [{ op: "replace", path: "", value: [1] }])).toEqual([1]);
    expect(applyJsonPatch(doc, [{ op: "copy", from: "/a", path: "" }])).toEqual(doc.a);
  });

  it("add refuses an index past the end, a token that is no index, and a missing parent", () => {
    for (const path of ["/a/list/4", "/a/list/01", "/a/list/x", "/nope/x", "/s/x"])
      expect(() => applyJsonPatch(doc, [{ op: "add", path, value: 0 }])).toThrow(JsonPatchConflict);
  });

  it("remove needs the value to be there, and never removes the whole document", () => {
    for (const path of ["/nope", "/a/list/3", "/a/list/-", ""])
      expect(() => applyJsonPatch(doc, [{ op: "remove", path }])).toThrow(JsonPatchConflict);
  });

  it("replace needs the value to be there: it never creates a member or appends", () => {
    expect(applyJsonPatch(doc, [{ op: "replace", path: "/a/list/1", value: 7 }])).toEqual({
      ...doc,
      a: { ...doc.a, list: [1, 7, 3] },
    });
    expect(applyJsonPatch(doc, [{ op: "replace", path: "/s", value: null }])).toEqual({ ...doc, s: null });
    for (const path of ["/nope", "/a/list/3", "/a/list/-"])
      expect(() => applyJsonPatch(doc, [{ op: "replace", path, value: 0 }])).toThrow(JsonPatchConflict);
  });

  it("move removes then adds, and refuses to move a value into its own child", () => {
    expect(applyJsonPatch(doc, [{ op: "move", from: "/a/list", path: "/list" }])).toEqual({
      a: { b: 1 },
      s: "x",
      list: [1, 2, 3],
    });
    expect(applyJsonPatch(doc, [{ op: "move", from: "/a", path: "/a" }])).toEqual(doc);
    expect(() => applyJsonPatch(doc, [{ op: "move", from: "/a", path: "/a/c" }])).toThrow(
      "JSON Patch operation 0 (move /a/c) failed: cannot move /a into itself",
    );
    expect(() => applyJsonPatch(doc, [{ op: "move", from: "", path: "/x" }])).toThrow(
      "JSON Patch operation 0 (move /x) failed: cannot move the whole document into itself",
    );
    // A prefix by characters only is no prefix: /a moves next to /ab fine.
    expect(applyJsonPatch({ a: 1 }, [{ op: "move", from: "/a", path: "/ab" }])).toEqual({ ab: 1 });
    expect(() => applyJsonPatch(doc, [{ op: "move", from: "/nope", path: "/x" }])).toThrow(JsonPatchConflict);
  });

  it("copy adds a copy that shares nothing with its source", () => {
    const out = applyJsonPatch(doc, [
      { op: "copy", from: "/a", path: "/c" },
      { op: "add", path: "/c/list/-", value: 4 },
    ]) as Record<string, { list: number[] }>;
    expect(out.a?.list).toEqual([1, 2, 3]);
    expect(out.c?.list).toEqual([1, 2, 3, 4]);
    expect(() => applyJsonPatch(doc, [{ op: "copy", from: "/nope", path: "/x" }])).toThrow(JsonPatchConflict);
  });

  it("test compares as JSON: member order does not count, item order and types do", () => {
    const t = (path: string, value: unknown) => () => applyJsonPatch(doc, [{ op: "test", path, value }]);
    expect(t("/a", { list: [1, 2, 3], b: 1 })).not.toThrow();
    expect(t("", doc)).not.toThrow();
    expect(t("/a/list", [3, 2, 1])).toThrow(JsonPatchTestFailed);
    expect(t("/a/b", "1")).toThrow(JsonPatchTestFailed);
    expect(t("/a/b", true)).toThrow(JsonPatchTestFailed);
    expect(t("/s", null)).toThrow(JsonPatchTestFailed);
    expect(t("/a", { b: 1 })).toThrow(JsonPatchTestFailed);
    // A value that is not there fails as a conflict, not as a wrong value.
    expect(t("/nope", 1)).toThrow(JsonPatchConflict);
  });

  it("jsonEqual tells null, arrays and objects apart", () => {
    expect(jsonEqual(null, null)).toBe(true);
    expect(jsonEqual({}, [])).toBe(false);
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual(1, 1.0)).toBe(true);
  });
});

describe("all or nothing", () => {
  it("applies operations in order, each seeing the last's result", () => {
    const out = applyJsonPatch({}, [
      { op: "add", path: "/a", value: {} },
      { op: "add", path: "/a/b", value: [] },
      { op: "add", path: "/a/b/-", value: 1 },
      { op: "test", path: "/a", value: { b: [1] } },
      { op: "move", from: "/a/b", path: "/c" },
    ]);
    expect(out).toEqual({ a: {}, c: [1] });
  });

  it("leaves the input untouched when an operation fails after others applied", () => {
    const doc = { workers: 2, cache: { "size-max": "100M" } };
    const before = structuredClone(doc);
    const e = failure(doc, [
      { op: "replace", path: "/workers", value: 4 },
      { op: "remove", path: "/cache" },
      { op: "test", path: "/workers", value: 2 },
    ]);
    expect(e).toBeInstanceOf(JsonPatchTestFailed);
    expect(doc).toEqual(before);
  });

  it("never shares data with the inputs", () => {
    const value = { list: [1] };
    const doc = { keep: { x: 1 } };
    const out = applyJsonPatch(doc, [{ op: "add", path: "/v", value }]) as Record<string, unknown>;
    expect(out.v).toEqual(value);
    expect(out.v).not.toBe(value);
    expect(out.keep).not.toBe(doc.keep);
  });

  it("an empty patch is the document unchanged", () => {
    expect(applyJsonPatch({ a: 1 }, [])).toEqual({ a: 1 });
  });
});

describe("paths relative to a base pointer (the config path of the request)", () => {
  const doc = { cache: { "size-max": "100M", prefetch: { expiring: false } }, workers: 2 };

  it("takes each path and from below the base", () => {
    expect(
      applyJsonPatch(
        doc,
        [
          { op: "replace", path: "/size-max", value: "200M" },
          { op: "copy", from: "/prefetch", path: "/copy" },
        ],
        "/cache",
      ),
    ).toEqual({
      cache: { "size-max": "200M", prefetch: { expiring: false }, copy: { expiring: false } },
      workers: 2,
    });
  });

  it("takes path '' as the base itself", () => {
    expect(applyJsonPatch(doc, [{ op: "replace", path: "", value: 4 }], "/workers")).toEqual({
      ...doc,
      workers: 4,
    });
    expect(applyJsonPatch(doc, [{ op: "remove", path: "" }], "/cache")).toEqual({ workers: 2 });
  });

  it("names the operation by the path it was given, and the value by its place in the document", () => {
    const e = failure(doc, [{ op: "test", path: "/size-max", value: "1G" }], "/cache");
    expect(e.message).toBe(
      'JSON Patch operation 0 (test /size-max) failed: /cache/size-max is "100M", not "1G"',
    );
  });
});

describe("errors name the operation (index from 0) and its path", () => {
  it("a failed test: 409 with the values compared", () => {
    const e = failure({ workers: 2 }, [
      { op: "test", path: "/workers", value: 2 },
      { op: "test", path: "/workers", value: 3 },
    ]) as JsonPatchTestFailed;
    expect(e).toBeInstanceOf(JsonPatchTestFailed);
    expect([e.status, e.index, e.op, e.path]).toEqual([409, 1, "test", "/workers"]);
    expect(e.body()).toEqual({
      error: "JSON Patch operation 1 (test /workers) failed: /workers is 2, not 3",
      operation: 1,
      op: "test",
      path: "/workers",
    });
  });

  it("cuts long values short in the message", () => {
    const e = failure({ s: "x".repeat(500) }, [{ op: "test", path: "/s", value: "y" }]);
    expect(e.message.length).toBeLessThan(200);
    expect(e.message).toContain('..., not "y"');
  });

  it("an operation that cannot apply: 409 with the pointer's own reason", () => {
    const e = failure({ a: 1 }, [
      { op: "add", path: "/b", value: 2 },
      { op: "remove", path: "/c" },
    ]) as JsonPatchConflict;
    expect([e.constructor, e.status]).toEqual([JsonPatchConflict, 409]);
    expect(e.body()).toEqual({
      error: "JSON Patch operation 1 (remove /c) failed: /c: no value at 'c'",
      operation: 1,
      op: "remove",
      path: "/c",
    });
  });

  it.each([
    [
      "not an array",
      { op: "add", path: "/a", value: 1 },
      "a JSON Patch must be an array of operations (RFC 6902)",
      undefined,
    ],
    [
      "an operation that is no object",
      [1],
      "JSON Patch operation 0: must be an object with 'op' and 'path'",
      0,
    ],
    [
      "a missing op",
      [{ path: "/a" }],
      "JSON Patch operation 0: 'op' must be one of add, remove, replace, move, copy, test",
      0,
    ],
    [
      "an unknown op",
      [
        { op: "test", path: "", value: 1 },
        { op: "merge", path: "/a" },
      ],
      "JSON Patch operation 1: 'op' must be one of add, remove, replace, move, copy, test, not \"merge\"",
      1,
    ],
    ["an op in capitals", [{ op: "ADD", path: "/a", value: 1 }], 'not "ADD"', 0],
    ["a missing path", [{ op: "remove" }], "JSON Patch operation 0 (remove): 'path' is missing", 0],
    [
      "a path that is no string",
      [{ op: "remove", path: 1 }],
      "JSON Patch operation 0 (remove): 'path' must be a JSON pointer string",
      0,
    ],
    [
      "a path that is no pointer",
      [{ op: "remove", path: "a/b" }],
      "JSON Patch operation 0 (remove): 'path' \"a/b\" is not a JSON pointer (it must be empty or start with '/')",
      0,
    ],
    [
      "add without a value",
      [{ op: "add", path: "/a" }],
      "JSON Patch operation 0 (add /a): 'value' is missing",
      0,
    ],
    [
      "replace without a value",
      [{ op: "replace", path: "" }],
      "JSON Patch operation 0 (replace \"\"): 'value' is missing",
      0,
    ],
    ["test without a value", [{ op: "test", path: "/a" }], "'value' is missing", 0],
    [
      "move without from",
      [{ op: "move", path: "/a" }],
      "JSON Patch operation 0 (move /a): 'from' is missing",
      0,
    ],
    [
      "copy with a from that is no pointer",
      [{ op: "copy", from: "x", path: "/a" }],
      "'from' \"x\" is not a JSON pointer",
      0,
    ],
  ])("a malformed patch (%s): 400 before anything applies", (_name, patch, message, index) => {
    const e = failure({ a: 1 }, patch) as InvalidJsonPatch;
    expect([e.constructor, e.status, e.index]).toEqual([InvalidJsonPatch, 400, index]);
    expect(e.message).toContain(message);
    expect(e.body()).toEqual(
      index === undefined ? { error: e.message } : { error: e.message, operation: index },
    );
  });

  it("checks the whole patch's shape before applying any of it", () => {
    // The first operation would fail as a conflict; the malformed second one is reported instead.
    expect(() => parseJsonPatch([{ op: "remove", path: "/nope" }, { op: "nope" }])).toThrow(
      "JSON Patch operation 1:",
    );
    expect(failure({}, [{ op: "remove", path: "/nope" }, { op: "nope" }])).toBeInstanceOf(InvalidJsonPatch);
  });

  it("takes a null value as a value", () => {
    expect(parseJsonPatch([{ op: "add", path: "/a", value: null }])).toEqual([
      { op: "add", path: "/a", value: null },
    ]);
  });
});

describe("prototype names are never written", () => {
  it.each(["__proto__", "constructor", "prototype"])("refuses to write the key %s, with 400", (key) => {
    for (const op of [
      { op: "add", path: `/${key}`, value: { polluted: true } },
      { op: "add", path: `/a/${key}`, value: { polluted: true } },
      { op: "copy", from: "/a", path: `/${key}` },
      { op: "move", from: "/a", path: `/${key}` },
    ]) {
      const e = failure({ a: {} }, [op]);
      expect([op, e.constructor, (e as InvalidJsonPatch).status]).toEqual([op, InvalidJsonPatch, 400]);
      expect(e.message).toContain(`'${key}' is reserved and cannot be written`);
    }
    // …nor through the base: the request's path ends in the key and the patch writes at "".
    expect(failure({}, [{ op: "add", path: "", value: 1 }], `/${key}`)).toBeInstanceOf(InvalidJsonPatch);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty("polluted");
  });

  it("reaches nothing inherited: replace and test of a prototype name find no value", () => {
    for (const path of ["/__proto__", "/constructor", "/toString", "/a/constructor/prototype"])
      expect(() => applyJsonPatch({ a: {} }, [{ op: "test", path, value: {} }])).toThrow(JsonPatchConflict);
    expect(() => applyJsonPatch({ a: {} }, [{ op: "replace", path: "/constructor", value: 1 }])).toThrow(
      JsonPatchConflict,
    );
  });

  it("keeps a __proto__ member inside a value as plain data, never as a prototype", () => {
    const value: unknown = JSON.parse('{"__proto__": {"polluted": true}}');
    const out = applyJsonPatch({}, [{ op: "add", path: "/v", value }]) as Record<string, object>;
    expect(Object.keys(out.v!)).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(out.v)).not.toHaveProperty("polluted");
    expect((out.v as Record<string, unknown>).polluted).toBeUndefined();
  });
});

/**
 * A patch whose every round nests /r one level deeper in a fresh object: constant-size operations,
 * unbounded depth (3 operations a round).
 */
function deepeningPatch(rounds: number): unknown[] {
  const patch: unknown[] = [];
  for (let i = 0; i < rounds; i++)
    patch.push(
      { op: "add", path: "/t", value: {} },
      { op: "move", from: "/r", path: "/t/r" },
      { op: "move", from: "/t", path: "/r" },
    );
  return patch;
}

describe("a small patch cannot make a huge or deep document", () => {
  it("refuses copies that would double the document again and again (400, naming the operation)", () => {
    const patch = [{ op: "add", path: "/a", value: Array.from({ length: 100 }, (_, i) => i) }];
    for (let i = 0; i < 40; i++) patch.push({ op: "copy", from: "", path: `/b${i}` } as never);
    const started = Date.now();
    const e = failure({}, patch) as InvalidJsonPatch;
    expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
    expect([e.constructor, e.status]).toEqual([InvalidJsonPatch, 400]);
    expect(e.message).toMatch(
      /^JSON Patch operation \d+ \(copy \/b\d+\): the patch copies more than 1000000 values in all$/,
    );
  });

  it("refuses copies of a long string past 16 MiB of JSON text in all (400, naming the operation)", () => {
    // Each copy is one value, but writes the string out again.
    const doc = { s: "x".repeat(1_000_000) };
    const patch = Array.from({ length: 1000 }, () => ({ op: "copy", from: "/s", path: "/l/-" }));
    const started = Date.now();
    const e = failure({ ...doc, l: [] }, patch) as InvalidJsonPatch;
    expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
    expect([e.constructor, e.status, e.message]).toEqual([
      InvalidJsonPatch,
      400,
      "JSON Patch operation 16 (copy /l/-): the patch copies more than 16777216 bytes of JSON text in all",
    ]);
  });

  it("refuses moves that nest the document deeper than any config (400), without overflowing the stack", () => {
    const patch = deepeningPatch(20_000);
    const e = failure({ r: {} }, patch) as InvalidJsonPatch;
    expect([e.constructor, e.status, e.message]).toEqual([
      InvalidJsonPatch,
      400,
      "the patched document would be nested deeper than 64 levels of lists and objects",
    ]);
  });

  it("refuses to copy a value nested deeper than any config", () => {
    const patch = deepeningPatch(100);
    patch.push({ op: "copy", from: "/r", path: "/c" });
    expect(failure({ r: {} }, patch).message).toBe(
      "JSON Patch operation 300 (copy /c): copies a value nested deeper than 64 levels of lists and objects",
    );
  });

  it("still shows a failed test against a value too deep to print", () => {
    const patch = deepeningPatch(20_000);
    patch.push({ op: "test", path: "/r", value: 1 });
    expect(failure({ r: {} }, patch)).toBeInstanceOf(JsonPatchTestFailed);
  });
});
