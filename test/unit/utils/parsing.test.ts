/**
 * What data stands for once YAML aliases are expanded (measure, checkBounds), and the refusal of a
 * config file or `kresctl config set` value past the bounds.
 */
import { ConfigParseError } from "../../../lib/datamodel/errors.js";
import { parseConfigText } from "../../../lib/datamodel/load.js";
import {
  checkBounds,
  ExpandsTooLarge,
  MAX_EXPANDED_BYTES,
  measure,
  NestingTooDeep,
  parseYamlOrJson,
  TooManyValues,
} from "../../../lib/utils/parsing.js";
import { NOT_EXPANDED_MS } from "../../../harness/fuzz.js";

describe("measure: what data stands for, counted as its compact JSON text", () => {
  it.each<[string, unknown]>([
    ["a string", "abc"],
    ["numbers", [0, -1, 1.5, 1e21, 1e-7, -0]],
    ["booleans and null", [true, false, null]],
    ["nested objects and lists", { a: [1, { b: "c" }], d: {}, e: [], "": "" }],
  ])("counts %s exactly as JSON.stringify writes it", (_name, value) => {
    expect(measure(value).bytes).toBe(JSON.stringify(value).length);
  });

  it("counts nesting (0 for a scalar) and values (containers included)", () => {
    expect(measure(1)).toEqual({ height: 0, values: 1, bytes: 1 });
    expect(measure({ a: [1, 2] })).toMatchObject({ height: 2, values: 4 });
  });

  it("counts a shared object at every place it occurs, as the copies and the ETag will see it", () => {
    const shared = { ttl: 5, name: "x".repeat(100) };
    const doc = { one: shared, two: shared, list: [shared, shared] };
    expect(measure(doc)).toEqual(measure(structuredClone(JSON.parse(JSON.stringify(doc)))));
    expect(measure(doc).bytes).toBe(JSON.stringify(doc).length);
  });

  it("walks a shared object once: 2^40 occurrences are refused at once, not walked", () => {
    let level: unknown = "x".repeat(1000);
    for (let i = 0; i < 40; i++) level = [level, level];
    const started = Date.now();
    expect(() => measure(level)).toThrow(ExpandsTooLarge);
    expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
  });

  it("refuses more than 1 000 000 values, 16 MiB of text, or 64 levels; a cycle is too deep", () => {
    expect(() => checkBounds(Array(1_000_001).fill(0))).toThrow(TooManyValues);
    expect(() => checkBounds("x".repeat(MAX_EXPANDED_BYTES))).toThrow(ExpandsTooLarge);
    expect(() => checkBounds("x".repeat(MAX_EXPANDED_BYTES - 2))).not.toThrow();
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => checkBounds(cyclic)).toThrow(NestingTooDeep);
  });
});

describe("config files and kresctl values past the bounds", () => {
  const bomb = `nsid: &s "${"x".repeat(1_000_000)}"\nlocal-data: {records: [${Array(20).fill("*s").join(", ")}]}\n`;

  it("parseYamlOrJson refuses aliases that stand for more than 16 MiB", () => {
    expect(() => parseYamlOrJson(bomb)).toThrow(ExpandsTooLarge);
  });

  it("a config file that does is refused naming the file and the limit", () => {
    let error: unknown;
    try {
      parseConfigText(bomb, "/etc/knot-resolver/config.yaml");
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigParseError);
    expect((error as Error).message).toContain("/etc/knot-resolver/config.yaml");
    expect((error as Error).message).toContain(
      "stands for more than 16777216 bytes (16 MiB) of JSON text once YAML aliases are expanded",
    );
  });
});
