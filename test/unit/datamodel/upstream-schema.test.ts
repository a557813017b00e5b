/**
 * The JSON Schema of GET /schema and `kresctl schema` names every property as upstream Knot Resolver
 * v6.4.2's published schema does, at every level, so configs, editors and tools written against
 * upstream work here. The property paths of upstream's schema are a fixture
 * (test/fixtures/upstream/v6.4.2-config-properties.txt); the only differences allowed are listed below.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { configJsonSchema, EXTENSION_KEYS } from "../../../lib/datamodel/json-schema.js";
import { REPO_ROOT } from "../../../harness/repo.js";

/** Property paths ours has and upstream's has not: this project's documented extensions (and what they hold). */
const isExtension = (p: string): boolean => EXTENSION_KEYS.some((e) => p === e || p.startsWith(`${e}/`));
/** Property paths upstream has and ours has not, each with the reason. */
const MISSING: Readonly<Record<string, string>> = {};

type Node = Record<string, unknown>;

/** Every property path of a JSON Schema ('*' for an array item or a map value), refs resolved. */
function propertyPaths(schema: Node): Set<string> {
  const defs = (schema.$defs ?? schema.definitions ?? {}) as Record<string, Node>;
  const out = new Set<string>();
  const resolve = (n: Node): Node => {
    let node = n;
    for (let i = 0; i < 20 && typeof node.$ref === "string"; i++)
      node = defs[(node.$ref as string).split("/").pop() as string] ?? {};
    return node;
  };
  const walk = (n: unknown, at: string, depth: number): void => {
    if (depth > 16 || !n || typeof n !== "object") return;
    const node = resolve(n as Node);
    for (const key of ["anyOf", "oneOf", "allOf"])
      for (const sub of (node[key] as unknown[] | undefined) ?? []) walk(sub, at, depth + 1);
    for (const [k, v] of Object.entries((node.properties as Record<string, unknown> | undefined) ?? {})) {
      out.add(`${at}/${k}`);
      walk(v, `${at}/${k}`, depth + 1);
    }
    if (node.items && typeof node.items === "object") walk(node.items, `${at}/*`, depth + 1);
    if (node.additionalProperties && typeof node.additionalProperties === "object")
      walk(node.additionalProperties, `${at}/*`, depth + 1);
  };
  walk(schema, "", 0);
  return out;
}

const upstream = new Set(
  fs
    .readFileSync(path.join(REPO_ROOT, "test/fixtures/upstream/v6.4.2-config-properties.txt"), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("/")),
);
const ours = propertyPaths(configJsonSchema());

describe("the JSON Schema against upstream v6.4.2's", () => {
  it("has every property upstream has, but for the listed exceptions", () => {
    const missing = [...upstream].filter((p) => !ours.has(p) && !(p in MISSING));
    expect(missing).toEqual([]);
  });

  it("has no property upstream lacks, but for this project's documented extensions", () => {
    const extra = [...ours].filter((p) => !upstream.has(p) && !isExtension(p));
    expect(extra).toEqual([]);
  });

  it("lists its extensions as x-extensions, each described as one, none of them upstream's", () => {
    const schema = configJsonSchema();
    expect(schema["x-extensions"]).toEqual([...EXTENSION_KEYS]);
    expect(EXTENSION_KEYS).toEqual(
      expect.arrayContaining(["/fleet", "/management/persist", "/management/token-file"]),
    );
    for (const key of EXTENSION_KEYS) {
      expect(upstream.has(key)).toBe(false);
      expect(ours.has(key)).toBe(true);
    }
    const fleet = (schema.properties as Record<string, { description?: string }>).fleet;
    expect(fleet?.description).toMatch(/^Extension of this project, not in upstream Knot Resolver/);
  });
});
