/**
 * fast-check arbitraries and run parameters of the fuzz tests (test/unit/utils/fuzz.test.ts, the
 * real-manager fuzzer in test/integration/api-fuzz.test.ts): hostile strings and keys, JSON-like
 * data (with shared parts, as YAML aliases make them), YAML texts full of anchors, aliases and
 * tags, alias bombs, deep nesting, random bytes, and Content-Types.
 *
 * Every run takes a fresh seed; fast-check prints it with the failing path and counterexample. To
 * replay a failure: KRM_FUZZ_SEED=<seed> KRM_FUZZ_PATH=<path> scripts/test <the test file>.
 */
import fc from "fast-check";
import * as yaml from "js-yaml";
import { hostileStrings } from "./hostile-strings.js";

/**
 * The parameters of one fc.assert: `numRuns` runs from KRM_FUZZ_SEED (and KRM_FUZZ_PATH) when set,
 * else from a fresh seed; a failure throws naming the seed, the path, how to replay them, the
 * property's own error and the counterexample cut short (bodies of a megabyte would drown the rest).
 */
export function fuzzParameters<T>(numRuns: number, extra: fc.Parameters<T> = {}): fc.Parameters<T> {
  const seed = process.env.KRM_FUZZ_SEED;
  const path = process.env.KRM_FUZZ_PATH;
  return {
    numRuns,
    ...(seed !== undefined && seed !== "" ? { seed: Number(seed) } : {}),
    ...(path !== undefined && path !== "" ? { path } : {}),
    reporter: (run) => {
      if (!run.failed) return;
      const error =
        run.errorInstance instanceof Error ? run.errorInstance.message : String(run.errorInstance);
      const example = fc.stringify(run.counterexample);
      throw new Error(
        `property failed after ${run.numRuns} runs (${run.numShrinks} shrinks): seed ${run.seed}, path "${run.counterexamplePath}"\n` +
          `replay: KRM_FUZZ_SEED=${run.seed} KRM_FUZZ_PATH=${run.counterexamplePath} scripts/test <this file>\n` +
          `${error}\ncounterexample: ${example.length > 2000 ? `${example.slice(0, 2000)}… (${example.length} chars)` : example}`,
      );
    },
    ...extra,
  };
}

/** Names that reach prototypes when written as keys. */
export const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype"] as const;

/** Characters that mean something to YAML or JSON, for texts that get far into the parsers. */
const SYNTAX_CHARS = [..."{}[],:#&*!|>'\"%@`?-~<=\\/ \t\n\r\0.eE+01aZ", "\u2028", "\ufeff", "é", "🎉"];

/** Strings that break out of literals, escapers and parsers; prototype names; anything at all. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(...hostileStrings(64, 16)),
  fc.constantFrom(...PROTOTYPE_KEYS, "toString", "hasOwnProperty", "valueOf", "__defineSetter__"),
  fc.constantFrom("", "~0", "~1", "~", "-", "0", "01", "-1", "99999999999999999999", "/", "a/b"),
  fc.string({ unit: "binary", maxLength: 20 }),
  fc.string({ unit: fc.constantFrom(...SYNTAX_CHARS), maxLength: 30 }),
);

/** Object keys: config-like names, hostile strings, prototype names. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom("workers", "cache", "size-max", "nsid", "a", "b", "listen", "interface"),
  hostileString,
);

const scalar: fc.Arbitrary<unknown> = fc.oneof(
  hostileString,
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(0, -0, 1e21, 1e-7, 2 ** 53, -1, 70000),
  fc.boolean(),
  fc.constant(null),
);

/** JSON-like data (what JSON.parse gives: no undefined, no null prototypes), up to a few levels. */
export const jsonData: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(hostileKey, tie("value"), { maxKeys: 5, noNullPrototype: true }),
  ),
})).value;

/**
 * JSON-like data in which some objects and lists occur at several places (as YAML aliases make
 * them): a tree whose leaves may be references into a pool of shared values.
 */
export const sharedData: fc.Arbitrary<unknown> = fc.array(jsonData, { minLength: 1, maxLength: 4 }).chain(
  (pool) =>
    fc.letrec<{ value: unknown }>((tie) => ({
      value: fc.oneof(
        { depthSize: "small" },
        fc.nat().map((i) => pool[i % pool.length]),
        scalar,
        fc.array(tie("value"), { maxLength: 4 }),
        fc.dictionary(hostileKey, tie("value"), { maxKeys: 4, noNullPrototype: true }),
      ),
    })).value,
);

const anchor = fc.constantFrom("a", "b", "c", "long");

/** A YAML node in flow style made of anchors, aliases (defined or not), tags and merge keys. */
const yamlNode: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    hostileString.map((s) => JSON.stringify(s)),
    fc.constantFrom("x", "1", "-0", "1e999", ".nan", "~", "null", "true", "0x1f", "0o7", "'q''t'", '""'),
    anchor.map((a) => `*${a}`),
    fc.tuple(anchor, tie("node")).map(([a, n]) => `&${a} ${n}`),
    fc
      .tuple(
        fc.constantFrom(
          "!!str",
          "!!int",
          "!!map",
          "!!seq",
          "!!binary",
          "!!set",
          "!!js/function",
          "!x",
          "!<tag:x>",
        ),
        tie("node"),
      )
      .map(([t, n]) => `${t} ${n}`),
    fc.array(tie("node"), { maxLength: 4 }).map((items) => `[${items.join(", ")}]`),
    fc
      .array(
        fc.tuple(
          fc.oneof(
            hostileKey.map((k) => JSON.stringify(k)),
            tie("node"),
          ),
          tie("node"),
        ),
        {
          maxLength: 4,
        },
      )
      .map((pairs) => `{${pairs.map(([k, v]) => `${k}: ${v}`).join(", ")}}`),
    anchor.map((a) => `{<<: *${a}, k: 1}`),
  ),
})).node;

/** YAML texts: flow nodes under block keys, YAML dumps of shared data (anchors), directives. */
export const yamlText: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.tuple(hostileKey, yamlNode), { minLength: 1, maxLength: 5 })
    .map((pairs) => pairs.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join("\n")),
  yamlNode,
  sharedData.map((d) => yaml.dump(d)),
  fc
    .tuple(fc.constantFrom("%YAML 1.2\n---\n", "---\n", "--- !!map\n", "...\n", "---\n...\n---\n"), yamlNode)
    .map(([head, n]) => head + n),
);

/**
 * Bodies built to stand for much more than they are: one long string behind many aliases, nested
 * aliases (billion laughs, with strings or without), self-referencing anchors. At most ~1 MB.
 */
export const aliasBomb: fc.Arbitrary<string> = fc.oneof(
  fc
    .record({ length: fc.integer({ min: 1, max: 600_000 }), aliases: fc.integer({ min: 1, max: 3000 }) })
    .map(
      ({ length, aliases }) =>
        `nsid: &s "${"x".repeat(length)}"\nlocal-data: {records: [${Array(aliases).fill("*s").join(", ")}]}\n`,
    ),
  fc
    .record({
      leaf: fc.integer({ min: 1, max: 50_000 }),
      fanout: fc.integer({ min: 2, max: 12 }),
      levels: fc.integer({ min: 1, max: 12 }),
    })
    .map(({ leaf, fanout, levels }) => nestedAliasBomb(leaf, fanout, levels)),
  fc.constantFrom("a: &a [*a]", "a: &a {x: *a}", "&a [*a, *a]", "a: &a {<<: *a}", "*a", "a: *a\nb: &a 1"),
);

/** Nesting from harmless to absurd, balanced or not. */
export const deepText: fc.Arbitrary<string> = fc
  .record({
    depth: fc.integer({ min: 1, max: 5000 }),
    open: fc.constantFrom("[", '{"a":', "- ", "a:\n "),
    balanced: fc.boolean(),
  })
  .map(({ depth, open, balanced }) => {
    const close = open === "[" ? "]" : open.startsWith("{") ? "}" : "";
    return open.repeat(depth) + "1" + (balanced ? close.repeat(depth) : "");
  });

/** Bytes as a server might decode them: UTF-8 (with replacement characters) or Latin-1. */
export const randomBytesText: fc.Arbitrary<string> = fc
  .tuple(fc.uint8Array({ maxLength: 300 }), fc.constantFrom("utf8", "latin1") as fc.Arbitrary<BufferEncoding>)
  .map(([bytes, encoding]) => Buffer.from(bytes).toString(encoding));

/** Every kind of text a request body can be, weighted towards the ones parsers get far into. */
export const bodyText: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: jsonData.map((d) => JSON.stringify(d)), weight: 3 },
  { arbitrary: yamlText, weight: 4 },
  { arbitrary: randomBytesText, weight: 2 },
  { arbitrary: deepText, weight: 1 },
  { arbitrary: aliasBomb, weight: 1 },
  { arbitrary: hostileString, weight: 1 },
);

/** Content-Types as clients send them, right and wrong. */
export const contentType: fc.Arbitrary<string | undefined> = fc.constantFrom(
  undefined,
  "",
  "application/json",
  "application/json; charset=utf-8",
  "APPLICATION/JSON",
  "application/merge-patch+json",
  "application/json-patch+json",
  "application/yaml",
  "text/yaml",
  "text/plain",
  "application/octet-stream",
  "text/html",
  "multipart/form-data; boundary=x",
  ";;;",
);

/** YAML of `levels` levels of `fanout` aliases of the level below, over a string of `leaf` characters. */
export function nestedAliasBomb(leaf: number, fanout: number, levels: number): string {
  const lines = [`l0: &l0 "${"y".repeat(leaf)}"`];
  for (let i = 1; i <= levels; i++)
    lines.push(
      `l${i}: &l${i} [${Array(fanout)
        .fill(`*l${i - 1}`)
        .join(", ")}]`,
    );
  return lines.join("\n");
}

/**
 * How long a refusal of a "bomb" (aliases, copies or shared objects standing for 2^40 values) may
 * take in a test: far above what a refusal takes even on a loaded machine, far below the hours an
 * expansion would take. The bound proves "not expanded", not a speed (speed is for bench/).
 */
export const NOT_EXPANDED_MS = 20_000;
