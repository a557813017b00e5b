import { printable } from "../../../lib/utils/printable.js";

describe("printable", () => {
  it("escapes every C0 and C1 control character, DEL, line separators and bidi overrides", () => {
    expect(printable("a\nb\tc")).toBe("a\\nb\\tc");
    expect(printable("x\r\u001b[2Jy\u0000")).toBe("x\\u000d\\u001b[2Jy\\u0000");
    expect(printable("\u007f\u0085\u009f")).toBe("\\u007f\\u0085\\u009f");
    expect(printable("\u2028\u2029\u202e\u2066")).toBe("\\u2028\\u2029\\u202e\\u2066");
  });

  it("leaves printable text, non-ASCII letters included, as it is", () => {
    const text = "příklad.cz. 'quoted' \"double\" \\ ✓";
    expect(printable(text)).toBe(text);
  });

  it("leaves no control character in any of the 0x00-0xFFFF code units", () => {
    let all = "";
    for (let c = 0; c < 0x10000; c++) if (c < 0xd800 || c > 0xdfff) all += String.fromCharCode(c);
    // eslint-disable-next-line no-control-regex -- looking for control characters is the point
    expect(printable(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
  });
});
