/**
 * RFC 7396 JSON Merge Patch, as PATCH /v1/config applies it. Not deepMerge (./parsing.ts), which
 * merges config files: here null deletes a key, as the RFC says; there null is a value.
 */
import { isPlainObject } from "./parsing.js";

/**
 * The target with the patch applied, following RFC 7396 §2: a patch object is merged key by key
 * (null deletes the key), anything else, arrays included, replaces the target whole. The result is
 * fresh data: it shares nothing with the inputs, which are left untouched.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return structuredClone(patch);
  const base = isPlainObject(target) ? target : {};
  // Entries then Object.fromEntries, not `out[key] = …`, so a "__proto__" key stays an own data property.
  const entries = new Map<string, unknown>(Object.entries(base).map(([k, v]) => [k, structuredClone(v)]));
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) entries.delete(key);
    else entries.set(key, mergePatch(entries.get(key), value));
  }
  return Object.fromEntries(entries);
}
