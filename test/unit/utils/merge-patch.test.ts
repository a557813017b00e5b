import { mergePatch } from "../../../lib/utils/merge-patch.js";

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe("mergePatch (RFC 7396)", () => {
  // RFC 7396 Appendix A, every example: original, patch, result.
  it.each<[unknown, unknown, unknown]>([
    [{ a: "b" }, { a: "c" }, { a: "c" }],
    [{ a: "b" }, { b: "c" }, { a: "b", b: "c" }],
    [{ a: "b" }, { a: null }, {}],
    [{ a: "b", b: "c" }, { a: null }, { b: "c" }],
    [{ a: ["b"] }, { a: "c" }, { a: "c" }],
    [{ a: "c" }, { a: ["b"] }, { a: ["b"] }],
    [{ a: { b: "c" } }, { a: { b: "d", c: null } }, { a: { b: "d" } }],
    [{ a: [{ b: "c" }] }, { a: [1] }, { a: [1] }],
    [
      ["a", "b"],
      ["c", "d"],
      ["c", "d"],
    ],
    [{ a: "b" }, ["c"], ["c"]],
    [{ a: "foo" }, null, null],
    [{ a: "foo" }, "bar", "bar"],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [[1, 2], { a: "b", c: null }, { a: "b" }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ])("Appendix A: %j patched with %j is %j", (target, patch, result) => {
    expect(mergePatch(target, patch)).toStrictEqual(result);
  });

  it("applies the example of RFC 7396 §3", () => {
    const target = {
      title: "Goodbye!",
      author: { givenName: "John", familyName: "Doe" },
      tags: ["example", "sample"],
      content: "This will be unchanged",
    };
    const patch = {
      title: "Hello!",
      phoneNumber: "+01-123-456-7890",
      author: { familyName: null },
      tags: ["example"],
    };
    expect(mergePatch(target, patch)).toStrictEqual({
      title: "Hello!",
      author: { givenName: "John" },
      tags: ["example"],
      content: "This will be unchanged",
      phoneNumber: "+01-123-456-7890",
    });
  });

  it("deletes a missing key without complaint (null means 'make it absent')", () => {
    expect(mergePatch({ a: 1 }, { b: null })).toStrictEqual({ a: 1 });
  });

  it("treats an empty patch object as no change, and a non-object target as empty", () => {
    expect(mergePatch({ a: { b: 1 } }, {})).toStrictEqual({ a: { b: 1 } });
    expect(mergePatch(undefined, { a: 1 })).toStrictEqual({ a: 1 });
    expect(mergePatch("text", { a: 1 })).toStrictEqual({ a: 1 });
    expect(mergePatch(null, {})).toStrictEqual({});
  });

  it("never mutates its inputs (frozen inputs would throw in strict mode)", () => {
    const target = deepFreeze({ a: { b: 1, c: [1, 2] }, d: "x" });
    const patch = deepFreeze({ a: { b: null, e: { f: 1 } }, d: null });
    expect(mergePatch(target, patch)).toStrictEqual({ a: { c: [1, 2], e: { f: 1 } } });
    expect(target).toStrictEqual({ a: { b: 1, c: [1, 2] }, d: "x" });
    expect(patch).toStrictEqual({ a: { b: null, e: { f: 1 } }, d: null });
  });

  it("returns fresh data: changing the result leaves the inputs alone", () => {
    const target = { kept: { x: [1] }, merged: { y: 1 } };
    const patch = { added: { z: [2] }, merged: { w: 2 }, list: [{ v: 3 }] };
    type Result = { kept: { x: number[] }; added: { z: number[] }; merged: { y: number }; list: unknown[] };
    const result = mergePatch(target, patch) as Result;
    result.kept.x.push(9);
    result.added.z.push(9);
    result.merged.y = 9;
    result.list[0] = 9;
    expect(target).toStrictEqual({ kept: { x: [1] }, merged: { y: 1 } });
    expect(patch).toStrictEqual({ added: { z: [2] }, merged: { w: 2 }, list: [{ v: 3 }] });
    // A patch that replaces the whole target is copied too.
    const arr = [{ a: 1 }];
    expect(mergePatch({}, arr)).not.toBe(arr);
  });

  it("handles keys that are special in JavaScript as plain keys", () => {
    const patch = JSON.parse('{"__proto__": {"polluted": true}, "toString": null, "constructor": 1}');
    const result = mergePatch({ a: 1 }, patch) as Record<string, unknown>;
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(Object.keys(result).sort()).toEqual(["__proto__", "a", "constructor"]);
    expect(Object.getOwnPropertyDescriptor(result, "__proto__")?.value).toStrictEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
