import { luaStr, luaValue, luaStrList } from "../../../lib/utils/lua-literal.js";

describe("luaStr", () => {
  it("keeps plain printable ASCII readable", () => {
    expect(luaStr("example.com")).toBe('"example.com"');
  });

  it("escapes quotes, backslashes and brackets as three-digit decimal escapes", () => {
    expect(luaStr(`a"b'c\\d[[e]]`)).toBe('"a\\034b\\039c\\092d\\091\\091e\\093\\093"');
  });

  it("escapes control bytes and UTF-8 bytes so the literal stays on one line", () => {
    expect(luaStr("a\nb\0c")).toBe('"a\\010b\\000c"');
    expect(luaStr("é")).toBe('"\\195\\169"');
    expect(luaStr("1\n2")).not.toContain("\n");
  });

  it("pads escapes so a following digit is not swallowed", () => {
    expect(luaStr("\t1")).toBe('"\\0091"');
  });
});

describe("luaValue", () => {
  it("renders nested tables with escaped keys and skips undefined", () => {
    expect(luaValue({ a: 1, "b-c": [true, "x"], end: null, d: undefined })).toBe(
      '{a = 1, ["b-c"] = {true, "x"}}',
    );
  });

  it("refuses non-finite numbers", () => {
    expect(() => luaValue(NaN)).toThrow(RangeError);
  });

  it("renders string lists", () => {
    expect(luaStrList(["a", "b"])).toBe('{"a", "b"}');
  });
});
