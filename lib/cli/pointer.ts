import { kresConfigSchema } from "../datamodel/config.js";

/** The keys a configuration may have at its top level. */
export const CONFIG_TOP_LEVEL_KEYS: readonly string[] = Object.keys(kresConfigSchema.shape);
const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set(CONFIG_TOP_LEVEL_KEYS);

/** A JSON pointer as the user wrote it ("workers" is taken for "/workers"). */
export function normalizePointer(p: string): string {
  return p === "" || p.startsWith("/") ? p : `/${p}`;
}

/**
 * Whether a positional argument is a JSON pointer into the configuration rather than a file: it
 * starts with "/" and its first token is a top-level key ("/workers", "/network/listen/0"), so a
 * path like /etc/knot-resolver/x.yaml is never mistaken for one.
 */
export function isConfigPointer(arg: string): boolean {
  if (!arg.startsWith("/")) return false;
  const first = arg.slice(1).split("/")[0] as string;
  return TOP_LEVEL_KEYS.has(first.replace(/~1/g, "/").replace(/~0/g, "~"));
}

/**
 * Splits a config operation's arguments into the JSON pointer and the other positionals. The
 * pointer is -p/--path as upstream, or else the first positional when it is a config pointer
 * (`kresctl config set /workers 3`); the whole configuration ("") without either.
 */
export function pointerAndRest(
  pathOption: string | undefined,
  positionals: readonly (string | undefined)[],
): { pointer: string; rest: string[] } {
  const given = positionals.filter((p): p is string => p !== undefined);
  if (pathOption !== undefined) return { pointer: normalizePointer(pathOption), rest: given };
  if (given[0] !== undefined && isConfigPointer(given[0])) return { pointer: given[0], rest: given.slice(1) };
  return { pointer: "", rest: given };
}

/** The API path of the configuration at a pointer: /v1/config plus the pointer, percent-encoded. */
export function configUrl(pointer: string): string {
  return "/v1/config" + pointer.split("/").map(encodeURIComponent).join("/");
}
