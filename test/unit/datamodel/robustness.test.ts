/**
 * Bad input never crashes validation: whatever wrong value stands at whatever place of a config,
 * the answer is the validated config or a ConfigValidationError naming problems, never another
 * exception (cross-field checks also see values that failed their own validation).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigValidationError } from "../../../lib/datamodel/errors.js";
import { configJsonSchema } from "../../../lib/datamodel/json-schema.js";
import { parseConfigText, validateConfig } from "../../../lib/datamodel/load.js";
import { setAt, toPointer } from "../../../lib/utils/json-pointer.js";
import { REPO_ROOT } from "../../../harness/repo.js";

const BAD: unknown[] = ["", "a\nb\u202e", "-", -1, 0, 1.5, 70000, true, null, [], {}, ["x"], [1], { x: 1 }];

const examples = fs
  .readdirSync(path.join(REPO_ROOT, "etc/config"))
  .filter((f) => f.endsWith(".yaml"))
  .map((f) => [f, parseConfigText(fs.readFileSync(path.join(REPO_ROOT, "etc/config", f), "utf8"))] as const);

/** Every place in a document: object keys and array items, recursively. */
function places(doc: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (Array.isArray(doc)) doc.forEach((v, i) => out.push(...places(v, [...at, i])));
  else if (doc && typeof doc === "object")
    for (const [k, v] of Object.entries(doc)) out.push(...places(v, [...at, k]));
  return out;
}

type Schema = { properties?: Record<string, Schema>; items?: Schema; anyOf?: Schema[]; oneOf?: Schema[] };

/** Every property path the JSON Schema describes (array items as index 0). */
function schemaPlaces(s: Schema, at: (string | number)[] = [], depth = 0): (string | number)[][] {
  if (depth > 8) return [];
  const out: (string | number)[][] = [];
  for (const [k, sub] of Object.entries(s.properties ?? {})) {
    out.push([...at, k], ...schemaPlaces(sub, [...at, k], depth + 1));
  }
  if (s.items) out.push(...schemaPlaces(s.items, [...at, 0], depth + 1));
  for (const alt of [...(s.anyOf ?? []), ...(s.oneOf ?? [])]) out.push(...schemaPlaces(alt, at, depth + 1));
  return out;
}

function outcome(data: unknown): string {
  try {
    validateConfig(data, { strict: false, baseDir: "/tmp", cpuCount: 2, hostname: "h" });
    return "valid";
  } catch (e) {
    if (e instanceof ConfigValidationError && e.problems.length > 0 && e.problems.every((p) => p.message))
      return "invalid";
    return `crash: ${(e as Error).stack?.split("\n").slice(0, 2).join(" ")}`;
  }
}

/** Sets a value at a path, creating the objects (or one-element arrays) on the way. */
function put(doc: unknown, at: (string | number)[], value: unknown): unknown {
  let out = doc;
  for (let i = 1; i <= at.length; i++) {
    const prefix = at.slice(0, i);
    const last = i === at.length;
    try {
      out = setAt(out, toPointer(prefix), last ? value : typeof at[i] === "number" ? [{}] : {});
    } catch {
      return undefined;
    }
    if (!last) {
      // keep what already stands there
      try {
        out = setAt(
          out,
          toPointer(prefix),
          structuredClone(getExisting(doc, prefix) ?? (typeof at[i] === "number" ? [{}] : {})),
        );
      } catch {
        return undefined;
      }
    }
  }
  return out;
}

function getExisting(doc: unknown, at: (string | number)[]): unknown {
  let cur = doc;
  for (const k of at) {
    if (cur && typeof cur === "object") cur = (cur as Record<string, unknown>)[k as string];
    else return undefined;
  }
  return cur;
}

describe("validation never crashes", () => {
  it.each(examples)("on a wrong value anywhere in %s", (_name, doc) => {
    const crashes: string[] = [];
    for (const at of places(doc).slice(1)) {
      for (const bad of BAD) {
        const r = outcome(setAt(doc, toPointer(at), bad));
        if (r.startsWith("crash")) crashes.push(`${toPointer(at)} = ${JSON.stringify(bad)}: ${r}`);
      }
    }
    expect(crashes).toEqual([]);
  });

  it("on a wrong value at any key the schema knows", () => {
    const crashes: string[] = [];
    const seen = new Set<string>();
    for (const at of schemaPlaces(configJsonSchema() as Schema)) {
      const key = toPointer(at);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const bad of BAD) {
        const data = put({}, at, bad);
        if (data === undefined) continue;
        const r = outcome(data);
        if (r.startsWith("crash")) crashes.push(`${key} = ${JSON.stringify(bad)}: ${r}`);
      }
    }
    expect(seen.size).toBeGreaterThan(100);
    expect(crashes).toEqual([]);
  });
});
