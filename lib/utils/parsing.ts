import * as yaml from "js-yaml";

/** Deeper than any config needs; much deeper data would exhaust the stack of whatever walks it. */
export const MAX_NESTING = 64;

/** Data nested deeper than MAX_NESTING levels of lists and objects. */
export class NestingTooDeep extends Error {
  constructor() {
    super(`nested deeper than ${MAX_NESTING} levels of lists and objects`);
    this.name = "NestingTooDeep";
  }
}

/** Throws NestingTooDeep when `value` has more than MAX_NESTING levels (walked without recursion). */
export function checkNesting(value: unknown): void {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v !== "object" || v === null) continue;
    if (depth >= MAX_NESTING) throw new NestingTooDeep();
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
}

/** Text to data: YAML (a superset of JSON for our purposes), with duplicate keys refused. */
export function parseYamlOrJson(text: string): unknown {
  let data: unknown;
  try {
    data = yaml.load(text, { schema: yaml.JSON_SCHEMA, json: false });
  } catch (e) {
    if (e instanceof RangeError) throw new NestingTooDeep(); // the parser's own recursion
    throw e;
  }
  checkNesting(data);
  return data;
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
