import {
  ACCEPTED_MEDIA_TYPES,
  BodyParseError,
  parseBody,
  UnsupportedMediaType,
} from "../../../lib/utils/body.js";
import { ExpandsTooLarge, MAX_EXPANDED_BYTES, measure } from "../../../lib/utils/parsing.js";
import { NOT_EXPANDED_MS } from "../../../harness/fuzz.js";

/** The BodyParseError parseBody throws, for asserting on its fields. */
function parseError(text: string, contentType: string | undefined): BodyParseError {
  try {
    parseBody(text, contentType);
  } catch (e) {
    if (e instanceof BodyParseError) return e;
    throw e;
  }
  throw new Error(`parsed without error: ${JSON.stringify(text)}`);
}

describe("parseBody: choosing the parser by Content-Type", () => {
  it.each(["application/json", "application/merge-patch+json", "application/vnd.knot.config+json"])(
    "reads %s as JSON",
    (type) => {
      expect(parseBody('{"workers": 2, "cache": {"size-max": "100M"}}', type)).toStrictEqual({
        workers: 2,
        cache: { "size-max": "100M" },
      });
      // YAML is not JSON: a JSON type gets the strict parser.
      expect(() => parseBody("workers: 2", type)).toThrow(BodyParseError);
    },
  );

  it.each(["application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml"])(
    "reads %s as YAML",
    (type) => {
      expect(parseBody("workers: 2\ncache:\n  size-max: 100M\n", type)).toStrictEqual({
        workers: 2,
        cache: { "size-max": "100M" },
      });
      // JSON is YAML too.
      expect(parseBody('{"workers": 2}', type)).toStrictEqual({ workers: 2 });
    },
  );

  it.each([undefined, "", "text/plain", "application/octet-stream"])(
    "reads YAML or JSON when the type (%j) does not say",
    (type) => {
      expect(parseBody("workers: 2", type)).toStrictEqual({ workers: 2 });
      expect(parseBody('{"workers": 2}', type)).toStrictEqual({ workers: 2 });
    },
  );

  it("ignores parameters, case and whitespace in the Content-Type", () => {
    expect(parseBody('{"a": 1}', "application/json; charset=utf-8")).toStrictEqual({ a: 1 });
    expect(parseBody('{"a": 1}', "Application/JSON;Charset=UTF-8")).toStrictEqual({ a: 1 });
    expect(parseBody("a: 1", "  TEXT/YAML ; charset=utf-8")).toStrictEqual({ a: 1 });
    expect(parseBody("a: 1", "text/plain; charset=us-ascii")).toStrictEqual({ a: 1 });
  });

  it("reads YAML with the JSON schema: no YAML 1.1 booleans", () => {
    expect(parseBody("enabled: yes\nv: true", "application/yaml")).toStrictEqual({ enabled: "yes", v: true });
  });

  it("returns any JSON value, not only objects (validation is not its job)", () => {
    expect(parseBody("5", "application/json")).toBe(5);
    expect(parseBody("null", "application/json")).toBeNull();
    expect(parseBody('"x"', "application/yaml")).toBe("x");
    expect(parseBody("[1, 2]", undefined)).toStrictEqual([1, 2]);
  });

  it("skips a UTF-8 byte order mark", () => {
    expect(parseBody('\uFEFF{"a": 1}', "application/json")).toStrictEqual({ a: 1 });
    expect(parseBody("\uFEFFa: 1", "application/yaml")).toStrictEqual({ a: 1 });
  });
});

describe("parseBody: unsupported media types", () => {
  it.each(["text/html", "application/xml", "multipart/form-data; boundary=x", "application/jsonx", "json"])(
    "refuses %s with UnsupportedMediaType",
    (type) => {
      expect(() => parseBody('{"a": 1}', type)).toThrow(UnsupportedMediaType);
    },
  );

  it("names the type (without parameters) and the accepted ones", () => {
    let error: unknown;
    try {
      parseBody("a: 1", "Text/HTML; charset=utf-8");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnsupportedMediaType);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ name: "UnsupportedMediaType", mediaType: "text/html" });
    const message = (error as Error).message;
    expect(message).toContain("'text/html'");
    for (const type of ACCEPTED_MEDIA_TYPES) expect(message).toContain(type);
    expect(ACCEPTED_MEDIA_TYPES).toEqual(expect.arrayContaining(["application/json", "application/yaml"]));
  });

  it("judges the type before the body: an empty body of a wrong type is still 415", () => {
    expect(() => parseBody("", "text/html")).toThrow(UnsupportedMediaType);
  });
});

describe("parseBody: malformed JSON, located by line and column", () => {
  it("reports the place and V8's reason, without the position or an echo of the input", () => {
    const e = parseError('{\n  "a": 1,\n  "b" 2\n}', "application/json");
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("BodyParseError");
    expect(e).toMatchObject({ line: 3, column: 7 });
    // Node 20: "Unexpected number in JSON at position 17"; the wording varies between versions.
    expect(e.message).toMatch(/^invalid JSON at line 3, column 7: \w/);
    expect(e.message).not.toContain("position");
  });

  // Node 20 gives no position for "Unexpected token": the place comes from our own scan of the text.
  it.each<[string, number, number]>([
    ['{\n  "workers": 2,\n  "cache": x\n}', 3, 12],
    ["workers: 2", 1, 1],
    ["[1,]", 1, 4],
    ['{"a": tru}', 1, 10],
    ["{'a': 1}", 1, 2],
    ['{"a": 1,}', 1, 9],
    ['{"a": [1, 2],\n "b": -x}', 2, 8],
    ['{"a": 1.}', 1, 9],
    ['{"a": 1e}', 1, 9],
    ['["\\u12x4"]', 1, 7],
    ['["a\\q"]', 1, 5],
  ])("locates the error in %j at line %i, column %i", (text, line, column) => {
    const e = parseError(text, "application/json");
    expect(e).toMatchObject({ line, column });
    expect(e.message).toMatch(new RegExp(`^invalid JSON at line ${line}, column ${column}: \\S`));
    expect(e.message).not.toContain("is not valid JSON");
    expect(e.message).not.toContain("position");
  });

  it.each<[string, number, number]>([
    ['{"a": 01}', 1, 8], // Unexpected number
    ['{"a": "x\ty"}', 1, 9], // a raw tab inside a string
    ['{"a": 1}\n}', 2, 1], // something after the value
    ['{\r\n"a" 1}', 2, 5], // CRLF is one line break
    ['{\r"a" 1}', 2, 5], // so is a lone CR
  ])("locates V8's positioned error in %j at line %i, column %i", (text, line, column) => {
    expect(parseError(text, "application/json")).toMatchObject({ line, column });
  });

  it("reports an unexpected end at the end of the text", () => {
    expect(parseError('{\n  "a": [1,\n', "application/json")).toMatchObject({ line: 3, column: 1 });
    expect(parseError('{"a": "unterminated', "application/json")).toMatchObject({ line: 1, column: 20 });
    const e = parseError('{"a":', "application/json");
    expect(e).toMatchObject({ line: 1, column: 6 });
    expect(e.message).toBe("invalid JSON at line 1, column 6: Unexpected end of JSON input");
  });

  it("counts columns in characters, not bytes", () => {
    expect(parseError('{"é": "ü" x}', "application/json")).toMatchObject({ line: 1, column: 11 });
  });
});

describe("parseBody: malformed YAML, located by line and column", () => {
  it("reports the place and js-yaml's reason, without its source snippet", () => {
    const e = parseError("a: 1\n  b: 2\n", "application/yaml");
    expect(e).toBeInstanceOf(BodyParseError);
    expect(e).toMatchObject({ name: "BodyParseError", line: 2, column: 4 });
    expect(e.message).toBe("invalid YAML at line 2, column 4: bad indentation of a mapping entry");
  });

  it("refuses duplicate keys, pointing at the second one", () => {
    const e = parseError("workers: 1\ncache: {}\nworkers: 2\n", "text/yaml");
    expect(e).toMatchObject({ line: 3, column: 1 });
    expect(e.message).toBe("invalid YAML at line 3, column 1: duplicated mapping key");
  });

  it("refuses tabs in indentation", () => {
    expect(parseError("a:\n\t- x\n", "application/x-yaml")).toMatchObject({ line: 2, column: 1 });
  });

  it("uses the YAML parser, and its errors, when the type does not say", () => {
    const e = parseError('{"a": 1,\n  "b": [1, 2}', undefined);
    expect(e.message).toMatch(/^invalid YAML at line 2, column \d+: /);
    expect(e.line).toBe(2);
  });

  it("reports errors js-yaml does not place (several documents, only comments) at the end", () => {
    const several = parseError("a: 1\n---\nb: 2", "application/yaml");
    expect(several).toMatchObject({ line: 3, column: 5 });
    expect(several.message).toMatch(/^invalid YAML at line 3, column 5: .*single document/);
    expect(parseError("# nothing but a comment\n", "application/yaml")).toMatchObject({ line: 2, column: 1 });
  });
});

describe("parseBody: empty bodies", () => {
  it.each([undefined, "application/json", "application/yaml", "text/plain"])(
    "refuses an empty or blank body with %j",
    (type) => {
      for (const text of ["", "  ", "\n\t\r\n", "\uFEFF"]) {
        const e = parseError(text, type);
        expect(e.message).toBe("empty body");
      }
    },
  );

  it("places the empty body's error at its end", () => {
    expect(parseError("", "application/json")).toMatchObject({ line: 1, column: 1 });
    expect(parseError("\n  ", "application/json")).toMatchObject({ line: 2, column: 3 });
  });
});

describe("deeply nested bodies", () => {
  const nested = (levels: number) => "[".repeat(levels) + "]".repeat(levels);

  it("takes 64 levels of lists and objects", () => {
    expect(() => parseBody(nested(64), "application/json")).not.toThrow();
  });

  it("refuses a 65th level with its line and column, in JSON and in YAML", () => {
    for (const type of ["application/json", "application/yaml"]) {
      const text = `{"a":\n ${nested(65)}}`;
      expect(() => parseBody(text, type)).toThrow(BodyParseError);
      try {
        parseBody(text, type);
      } catch (e) {
        expect((e as BodyParseError).message).toMatch(
          /^nested deeper than 64 levels of lists and objects, at line 2/,
        );
        expect([(e as BodyParseError).line, (e as BodyParseError).column]).toEqual([2, 65]);
      }
    }
  });

  it("refuses 100 000 levels as a parse error, not a crash", () => {
    expect(() => parseBody(nested(100_000), "application/json")).toThrow(/nested deeper than 64 levels/);
    // js-yaml stops at its own limit first
    expect(() => parseBody(nested(100_000), "application/yaml")).toThrow(
      /invalid YAML at line 1, column \d+: nesting exceeded/,
    );
  });
});

describe("YAML aliases", () => {
  it("refuses a small text that stands for millions of values, quickly", () => {
    const levels = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 10; i++)
      levels.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    const started = Date.now();
    expect(() => parseBody(levels.join("\n"), "application/yaml")).toThrow(
      /more than 1000000 values \(once YAML aliases are expanded\)/,
    );
    expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
  });

  // One alias of a long string is one value, but every copy of the data writes the string again.
  const stringBomb = (length: number, aliases: number): string =>
    `nsid: &s "${"x".repeat(length)}"\nlocal-data: {records: [${Array(aliases).fill("*s").join(", ")}]}\n`;

  it("refuses a body whose aliases of one long string stand for more than 16 MiB: 413 naming the limit", () => {
    const text = stringBomb(600_000, 2000); // 0.6 MB standing for 1.2 GB
    const started = Date.now();
    let error: unknown;
    try {
      parseBody(text, "application/yaml");
    } catch (e) {
      error = e;
    }
    expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
    expect(error).toBeInstanceOf(ExpandsTooLarge);
    expect([(error as ExpandsTooLarge).status, (error as ExpandsTooLarge).message]).toEqual([
      413,
      "the request body stands for more than 16777216 bytes (16 MiB) of JSON text once YAML aliases are expanded",
    ]);
  });

  it("refuses nested aliases of a string that stay under the value limit but not under the size limit", () => {
    // 5 levels of 10 aliases over a 100 kB string: 111 111 values, 10 GB.
    const lines = [`s0: &s0 "${"y".repeat(100_000)}"`];
    for (let i = 1; i <= 5; i++)
      lines.push(
        `s${i}: &s${i} [${Array(10)
          .fill(`*s${i - 1}`)
          .join(", ")}]`,
      );
    expect(() => parseBody(lines.join("\n"), "text/plain")).toThrow(ExpandsTooLarge);
  });

  it("takes aliases up to the limit: what they stand for is counted as its JSON text", () => {
    const text = stringBomb(100_000, 150); // about 15 MB of JSON text
    const data = parseBody(text, "application/yaml");
    expect(JSON.stringify(data).length).toBeLessThan(MAX_EXPANDED_BYTES);
    expect(measure(data).bytes).toBe(JSON.stringify(data).length);
    expect(() => parseBody(stringBomb(100_000, 170), "application/yaml")).toThrow(ExpandsTooLarge);
  });

  it("takes any JSON body up to the 4 MB body limit: the size limit is for aliases", () => {
    const text = JSON.stringify({ nsid: "z".repeat(4 * 1024 * 1024 - 20) });
    expect(parseBody(text, "application/json")).toEqual(JSON.parse(text));
    expect(parseBody(text, "application/yaml")).toEqual(JSON.parse(text));
  });

  it("refuses a JSON body of more than 1 000 000 values as malformed (400), not as a crash", () => {
    const text = `[${Array(1_100_000).fill("0").join(",")}]`; // 2.2 MB: under the body limit
    expect(parseError(text, "application/json").message).toBe(
      "invalid JSON: more than 1000000 values (once YAML aliases are expanded)",
    );
  });

  it("takes aliases that expand to a reasonable size", () => {
    expect(parseBody("base: &b {ttl: 5}\none: *b\ntwo: *b\n", "application/yaml")).toEqual({
      base: { ttl: 5 },
      one: { ttl: 5 },
      two: { ttl: 5 },
    });
  });
});
