import * as yaml from "js-yaml";

/** Text to data: YAML (a superset of JSON for our purposes), with duplicate keys refused. */
export function parseYamlOrJson(text: string): unknown {
  return yaml.load(text, { schema: yaml.JSON_SCHEMA, json: false });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Later documents override earlier ones key by key; lists and scalars are replaced whole. */
export function deepMerge(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return structuredClone(over);
  const out: Record<string, unknown> = structuredClone(base);
  for (const [k, v] of Object.entries(over)) out[k] = k in out ? deepMerge(out[k], v) : structuredClone(v);
  return out;
}
