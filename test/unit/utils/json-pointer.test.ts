import {
  deleteAt,
  getAt,
  hasAt,
  JsonPointerError,
  parsePointer,
  removeIn,
  ReservedKeyError,
  setAt,
  toPointer,
  writeIn,
} from "../../../lib/utils/json-pointer.js";

describe("JSON pointer", () => {
  const doc = { a: { "b/c": [1, 2, { "~k": "v" }] }, "": 0 };

  it("builds and parses with ~0 and ~1 escapes", () => {
    expect(toPointer(["a", "b/c", 2, "~k"])).toBe("/a/b~1c/2/~0k");
    expect(parsePointer("/a/b~1c/2/~0k")).toEqual(["a", "b/c", "2", "~k"]);
    expect(parsePointer("")).toEqual([]);
    expect(() => parsePointer("a")).toThrow(JsonPointerError);
  });

  it("gets values, the root, and the empty key", () => {
    expect(getAt(doc, "/a/b~1c/2/~0k")).toBe("v");
    expect(getAt(doc, "")).toBe(doc);
    expect(getAt(doc, "/")).toBe(0);
  });

  it("refuses what is not there, naming the pointer", () => {
    expect(() => getAt(doc, "/a/x")).toThrow("/a/x: no value at 'x'");
    expect(() => getAt(doc, "/a/b~1c/3")).toThrow("index 3 is out of range");
    expect(() => getAt(doc, "/a/b~1c/01")).toThrow("'01' is not an array index");
    expect(() => getAt(doc, "/a/b~1c/-")).toThrow(JsonPointerError);
  });

  it("sets into copies, appending with '-', never mutating the input", () => {
    const before = structuredClone(doc);
    expect(getAt(setAt(doc, "/a/b~1c/-", 9), "/a/b~1c/3")).toBe(9);
    expect(getAt(setAt(doc, "/a/new", { x: 1 }), "/a/new/x")).toBe(1);
    expect(setAt(doc, "", 5)).toBe(5);
    expect(doc).toEqual(before);
    expect(() => setAt(doc, "/missing/x", 1)).toThrow("no value at 'missing'");
    expect(() => setAt(doc, "/a/b~1c/0/x", 1)).toThrow("not an object or array");
  });

  it("deletes from copies", () => {
    expect(getAt(deleteAt(doc, "/a/b~1c/0"), "/a/b~1c")).toEqual([2, { "~k": "v" }]);
    expect(deleteAt(doc, "/a")).toEqual({ "": 0 });
    expect(() => deleteAt(doc, "/nope")).toThrow("no value at 'nope'");
    expect(() => deleteAt(doc, "")).toThrow("cannot delete the whole document");
  });

  it("tells whether a value is there", () => {
    expect([hasAt(doc, "/a/b~1c/2"), hasAt(doc, "/a/b~1c/3"), hasAt(doc, "/toString")]).toEqual([
      true,
      false,
      false,
    ]);
  });

  it("edits in place: replaces or inserts array items, returns what it removes", () => {
    const d = { list: [1, 2], o: {} as Record<string, unknown> };
    writeIn(d, "/list/0", 0, "insert");
    writeIn(d, "/list/1", 9, "replace");
    writeIn(d, "/o/k", "v", "replace");
    expect(d).toEqual({ list: [0, 9, 2], o: { k: "v" } });
    expect(removeIn(d, "/list/1")).toBe(9);
    expect(removeIn(d, "/o/k")).toBe("v");
    expect(d).toEqual({ list: [0, 2], o: {} });
  });

  it.each(["__proto__", "constructor", "prototype"])("never writes the key %s (400), at any depth", (key) => {
    for (const pointer of [`/${key}`, `/a/${key}`]) {
      expect(() => setAt(doc, pointer, { polluted: true })).toThrow(ReservedKeyError);
      expect(() => writeIn(structuredClone(doc), pointer, 1, "insert")).toThrow(
        `${pointer}: '${key}' is reserved and cannot be written`,
      );
    }
    expect(new ReservedKeyError(`/${key}`, key).status).toBe(400);
    expect(Object.prototype).not.toHaveProperty("polluted");
  });
});
