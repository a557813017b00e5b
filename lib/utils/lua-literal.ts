/**
 * The one way values reach generated Lua. Strings become double-quoted literals in which
 * every byte outside printable ASCII, and every quote, backslash and bracket, is a decimal
 * escape (`\ddd`, always three digits so a following digit cannot extend it). The result
 * therefore contains no newline, no `]]`, no `--` that could start a comment outside the
 * literal, and cannot end the literal early: a config value can never become Lua code.
 */
export function luaStr(value: string): string {
  let out = '"';
  for (const byte of Buffer.from(value, "utf8")) {
    const printable = byte >= 0x20 && byte < 0x7f;
    const special = byte === 0x22 || byte === 0x5c || byte === 0x27 || byte === 0x5b || byte === 0x5d;
    out += printable && !special ? String.fromCharCode(byte) : "\\" + byte.toString().padStart(3, "0");
  }
  return out + '"';
}

/** A finite number as a Lua numeric literal. */
export function luaNum(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`cannot render ${value} as a Lua number`);
  return String(value);
}

export function luaBool(value: boolean): string {
  return value ? "true" : "false";
}

export type LuaValue =
  string | number | boolean | null | undefined | LuaValue[] | { [key: string]: LuaValue };

const LUA_IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LUA_KEYWORDS = new Set(
  "and break do else elseif end false for function goto if in local nil not or repeat return then true until while".split(
    " ",
  ),
);

/**
 * Any JSON-like value as a Lua expression: arrays become sequences, objects become tables
 * with escaped keys, `null`/`undefined` become `nil` (object keys holding them are skipped).
 */
export function luaValue(value: LuaValue): string {
  if (value === null || value === undefined) return "nil";
  if (typeof value === "string") return luaStr(value);
  if (typeof value === "number") return luaNum(value);
  if (typeof value === "boolean") return luaBool(value);
  if (Array.isArray(value)) return `{${value.map(luaValue).join(", ")}}`;
  const fields: string[] = [];
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined || item === null) continue;
    const k = LUA_IDENT.test(key) && !LUA_KEYWORDS.has(key) ? key : `[${luaStr(key)}]`;
    fields.push(`${k} = ${luaValue(item)}`);
  }
  return `{${fields.join(", ")}}`;
}

/** A list of strings as a Lua table of string literals. */
export function luaStrList(values: readonly string[]): string {
  return `{${values.map(luaStr).join(", ")}}`;
}
