/**
 * Property-based fuzzing (fast-check) of what a request body goes through before validation: the
 * body parser, JSON pointers, JSON Patch and merge patch, with random and hostile data.
 *
 * - parseBody takes any text under any Content-Type and either gives data within the bounds
 *   (nesting, values, size once aliases are expanded) or throws its typed 4xx errors;
 * - the pointer and patch code never touches a prototype, never changes its inputs, shares nothing
 *   with them, is all or nothing, and throws only its typed errors.
 *
 * A fresh seed every run; a failure prints seed and path (replay: KRM_FUZZ_SEED, KRM_FUZZ_PATH,
 * see harness/fuzz.ts).
 */
import fc from "fast-check";
import { BodyParseError, parseBody, UnsupportedMediaType } from "../../../lib/utils/body.js";
import { KresError } from "../../../lib/utils/errors.js";
import {
  applyJsonPatch,
  InvalidJsonPatch,
  JsonPatchConflict,
  jsonEqual,
  parseJsonPatch,
} from "../../../lib/utils/json-patch.js";
import {
  deleteAt,
  getAt,
  hasAt,
  JsonPointerError,
  parsePointer,
  RESERVED_KEYS,
  ReservedKeyError,
  setAt,
  toPointer,
} from "../../../lib/utils/json-pointer.js";
import { mergePatch } from "../../../lib/utils/merge-patch.js";
import { checkBounds, ExpandsTooLarge, isPlainObject, measure } from "../../../lib/utils/parsing.js";
import {
  bodyText,
  contentType,
  fuzzParameters,
  hostileKey,
  hostileString,
  jsonData,
  sharedData,
  NOT_EXPANDED_MS,
} from "../../../harness/fuzz.js";

// ---- invariants shared by the properties ----

// Under jest, structuredClone makes objects of another realm (Node's own) than the test's: the
// prototypes of both count.
const OBJECT_PROTOTYPES = new Set<unknown>([Object.prototype, Object.getPrototypeOf(structuredClone({}))]);
const ARRAY_PROTOTYPES = new Set<unknown>([Array.prototype, Object.getPrototypeOf(structuredClone([]))]);
const PROTOTYPES = [
  ...OBJECT_PROTOTYPES,
  ...ARRAY_PROTOTYPES,
  Function.prototype,
  String.prototype,
] as object[];
const pristine = PROTOTYPES.map((p) => Object.getOwnPropertyNames(p).sort().join(","));

/** Whether any built-in prototype gained or lost a property (what prototype pollution does). */
function prototypesTouched(): boolean {
  return PROTOTYPES.some((p, i) => Object.getOwnPropertyNames(p).sort().join(",") !== pristine[i]);
}

/** Every object and array in value (each once), deepest first not guaranteed. */
function containers(value: unknown, out = new Set<object>()): Set<object> {
  if (typeof value === "object" && value !== null && !out.has(value)) {
    out.add(value);
    for (const child of Object.values(value)) containers(child, out);
  }
  return out;
}

/** Every container is a plain object or array: no prototype was set through a `__proto__` key. */
function plainPrototypes(value: unknown): boolean {
  return [...containers(value)].every((c) => {
    const proto: unknown = Object.getPrototypeOf(c);
    return Array.isArray(c) ? ARRAY_PROTOTYPES.has(proto) : OBJECT_PROTOTYPES.has(proto);
  });
}

/** Whether result holds an object or array of one of the inputs (it must be fresh data). */
function sharesWith(result: unknown, ...inputs: unknown[]): boolean {
  const theirs = new Set<object>();
  for (const input of inputs) containers(input, theirs);
  return [...containers(result)].some((c) => theirs.has(c));
}

/** A snapshot that tells whether data changed: JSON text (own keys, `__proto__` included). */
const snapshot = (value: unknown): string => JSON.stringify(value) ?? "undefined";

/** Runs f; returns its result or the error it threw, which must be a KresError of a 4xx status. */
function outcome<T>(
  f: () => T,
  allowed: (abstract new (...args: never[]) => KresError)[],
): {
  value?: T;
  error?: KresError;
} {
  try {
    return { value: f() };
  } catch (e) {
    if (!(e instanceof KresError) || !allowed.some((c) => e instanceof c))
      throw new Error(
        `untyped or unexpected error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
      );
    if (e.status < 400 || e.status >= 500) throw new Error(`${e.name} with status ${e.status}`);
    return { error: e };
  }
}

afterEach(() => {
  expect(prototypesTouched()).toBe(false);
});

// ---- (a) the body parser ----

describe("parseBody fuzzed with random texts and Content-Types", () => {
  it("gives data within the bounds, or throws UnsupportedMediaType, BodyParseError or ExpandsTooLarge", () => {
    fc.assert(
      fc.property(bodyText, contentType, (text, type) => {
        const started = Date.now();
        const { value, error } = outcome(
          () => parseBody(text, type),
          [UnsupportedMediaType, BodyParseError, ExpandsTooLarge],
        );
        // Linear parsers and a walk that never expands aliases: no input takes long.
        expect(Date.now() - started).toBeLessThan(NOT_EXPANDED_MS);
        if (error) return;
        expect(() => checkBounds(value)).not.toThrow();
        expect(plainPrototypes(value)).toBe(true);
        expect(prototypesTouched()).toBe(false);
      }),
      fuzzParameters(800),
    );
  });

  it("reads any JSON data back as it was, under a JSON and a YAML type alike", () => {
    fc.assert(
      fc.property(jsonData, (data) => {
        const text = JSON.stringify(data);
        for (const type of ["application/json", "application/yaml"]) {
          const { value, error } = outcome(() => parseBody(text, type), [BodyParseError]);
          // YAML 1.2 is a superset of JSON, except for a few characters it does not allow.
          if (error) {
            expect(type).toBe("application/yaml");
            continue;
          }
          expect(jsonEqual(value, JSON.parse(text))).toBe(true);
        }
      }),
      fuzzParameters(300),
    );
  });

  it("measures data as the length of its JSON text, shared parts counted at every place", () => {
    fc.assert(
      fc.property(sharedData, (data) => {
        const text = JSON.stringify(data);
        // measure counts strings unescaped: exact when nothing needs escaping, a lower bound else.
        const plain = (x: unknown): boolean =>
          typeof x !== "string" || JSON.stringify(x).length === x.length + 2;
        const escapes =
          !plain(data) ||
          [...containers(data)].some((c) => Object.entries(c).some(([k, v]) => !plain(k) || !plain(v)));
        if (escapes) expect(measure(data).bytes).toBeLessThanOrEqual(text.length);
        else expect(measure(data).bytes).toBe(text.length);
      }),
      fuzzParameters(300),
    );
  });
});

// ---- (b) JSON pointers, JSON Patch, merge patch ----

/** The pointers of every place in doc. */
function pointersIn(doc: unknown, at: string[] = [], out: string[] = []): string[] {
  out.push(toPointer(at));
  if (typeof doc === "object" && doc !== null && out.length < 200)
    for (const [k, v] of Object.entries(doc)) pointersIn(v, [...at, k], out);
  return out;
}

/** Pointers for doc: mostly to places in it, else with a hostile, reserved or appending last token, or junk. */
function pointerFor(doc: unknown): fc.Arbitrary<string> {
  const existing = fc.constantFrom(...pointersIn(doc));
  return fc.oneof(
    { arbitrary: existing, weight: 4 },
    {
      arbitrary: fc
        .tuple(existing, fc.oneof(hostileKey, fc.constantFrom(...RESERVED_KEYS, "-", "0", "1", "00")))
        .map(([p, t]) => p + toPointer([t])),
      weight: 3,
    },
    { arbitrary: hostileString, weight: 1 },
  );
}

const docAndPointer = fc
  .oneof(jsonData, sharedData)
  .chain((doc) => fc.tuple(fc.constant(doc), pointerFor(doc)));

describe("JSON pointers fuzzed", () => {
  const typed = [JsonPointerError];

  it("setAt: a fresh document with the value at the pointer, or a typed refusal; prototypes never written", () => {
    fc.assert(
      fc.property(docAndPointer, jsonData, ([doc, pointer], value) => {
        const [docBefore, valueBefore] = [snapshot(doc), snapshot(value)];
        const { value: out, error } = outcome(() => setAt(doc, pointer, value), typed);
        expect([snapshot(doc), snapshot(value)]).toEqual([docBefore, valueBefore]);
        if (outcome(() => parsePointer(pointer), typed).error) {
          expect(error).toBeInstanceOf(JsonPointerError);
          return;
        }
        const tokens = parsePointer(pointer);
        const last = tokens.at(-1);
        const parent =
          tokens.length > 0 && outcome(() => getAt(doc, toPointer(tokens.slice(0, -1))), typed).value;
        // A write through a reserved key into an object is refused by name (400), never done.
        if (last !== undefined && RESERVED_KEYS.has(last) && isPlainObject(parent))
          expect(error).toBeInstanceOf(ReservedKeyError);
        if (error) return;
        expect(plainPrototypes(out)).toBe(true);
        expect(sharesWith(out, doc, value)).toBe(false);
        if (tokens.at(-1) !== "-") expect(jsonEqual(getAt(out, pointer), value)).toBe(true);
      }),
      fuzzParameters(500),
    );
  });

  it("deleteAt, getAt, hasAt: typed refusals only, the input untouched", () => {
    fc.assert(
      fc.property(docAndPointer, ([doc, pointer]) => {
        const before = snapshot(doc);
        const got = outcome(() => getAt(doc, pointer), typed);
        expect(hasAt(doc, pointer)).toBe(got.error === undefined);
        const { value: out, error } = outcome(() => deleteAt(doc, pointer), typed);
        expect(snapshot(doc)).toBe(before);
        if (error) return;
        expect(got.error).toBeUndefined(); // only what exists is deleted
        expect(plainPrototypes(out)).toBe(true);
        expect(sharesWith(out, doc)).toBe(false);
        const tokens = parsePointer(pointer);
        const parent = getAt(out, toPointer(tokens.slice(0, -1)));
        if (isPlainObject(parent)) expect(hasAt(out, pointer)).toBe(false);
      }),
      fuzzParameters(500),
    );
  });
});

/** Well-formed JSON Patch operations on doc's places (which earlier operations may move away). */
function patchFor(doc: unknown): fc.Arbitrary<Record<string, unknown>[]> {
  const path = pointerFor(doc);
  const op = fc.oneof(
    fc.record({ op: fc.constantFrom("add", "replace", "test"), path, value: jsonData }),
    fc.record({ op: fc.constant("remove"), path }),
    fc.record({ op: fc.constantFrom("move", "copy"), from: path, path }),
  );
  return fc.array(op, { maxLength: 8 });
}

const docAndPatch = fc
  .oneof(jsonData, sharedData)
  .chain((doc) => fc.tuple(fc.constant(doc), patchFor(doc), fc.constantFrom("", "", "", "/a", "/0", "x")));

describe("JSON Patch fuzzed", () => {
  const typed = [InvalidJsonPatch, JsonPatchConflict, JsonPointerError];

  it("applies all or nothing, as the operations one by one would, and never changes its inputs", () => {
    fc.assert(
      fc.property(docAndPatch, ([doc, patch, base]) => {
        const [docBefore, patchBefore] = [snapshot(doc), snapshot(patch)];
        const whole = outcome(() => applyJsonPatch(doc, patch, base), typed);
        expect([snapshot(doc), snapshot(patch)]).toEqual([docBefore, patchBefore]);
        if (whole.value !== undefined) {
          expect(plainPrototypes(whole.value)).toBe(true);
          expect(sharesWith(whole.value, doc, patch)).toBe(false);
          expect(() => checkBounds(whole.value)).not.toThrow();
        }
        // A malformed patch or base is refused before any operation runs.
        if (
          outcome(() => parseJsonPatch(patch), typed).error ||
          outcome(() => parsePointer(base), typed).error
        ) {
          expect(whole.error).toBeDefined();
          return;
        }
        // The same operations one at a time: the same result, or the same failure at the same one.
        let step: unknown = doc;
        for (const [index, op] of patch.entries()) {
          const one = outcome(() => applyJsonPatch(step, [op], base), typed);
          if (one.error) {
            expect(whole.error).toBeDefined();
            expect(whole.error!.constructor).toBe(one.error.constructor);
            if (whole.error instanceof JsonPatchConflict) expect(whole.error.index).toBe(index);
            return;
          }
          step = one.value;
        }
        expect(whole.error).toBeUndefined();
        expect(jsonEqual(whole.value, step)).toBe(true);
      }),
      fuzzParameters(500),
    );
  });

  it("refuses any other data as a patch with InvalidJsonPatch, the document untouched", () => {
    fc.assert(
      fc.property(jsonData, sharedData, (doc, patch) => {
        const before = snapshot(doc);
        const { value } = outcome(() => applyJsonPatch(doc, patch), typed);
        expect(snapshot(doc)).toBe(before);
        if (value !== undefined) expect(sharesWith(value, doc, patch)).toBe(false);
      }),
      fuzzParameters(300),
    );
  });
});

describe("merge patch fuzzed", () => {
  it("is fresh data, idempotent, deletes what null names, and never changes its inputs", () => {
    fc.assert(
      fc.property(fc.oneof(jsonData, sharedData), fc.oneof(jsonData, sharedData), (target, patch) => {
        const [targetBefore, patchBefore] = [snapshot(target), snapshot(patch)];
        const out = mergePatch(target, patch);
        expect([snapshot(target), snapshot(patch)]).toEqual([targetBefore, patchBefore]);
        expect(plainPrototypes(out)).toBe(true);
        expect(sharesWith(out, target, patch)).toBe(false);
        expect(jsonEqual(mergePatch(out, patch), out)).toBe(true); // RFC 7396 patches are idempotent
        if (!isPlainObject(patch)) expect(jsonEqual(out, patch)).toBe(true);
        else
          for (const [key, value] of Object.entries(patch)) {
            const own = Object.prototype.hasOwnProperty.call(out, key);
            expect(own).toBe(value !== null);
          }
      }),
      fuzzParameters(500),
    );
  });
});
