import { z } from "zod";

/** A number with a unit suffix, kept as written (`100M`, `10s`) so it serializes unchanged. */
function unitString(kind: string, units: Record<string, number>) {
  const names = Object.keys(units);
  const re = new RegExp(`^(\\d+)(${names.join("|")})$`);
  const schema = z
    .string({ error: `expected a ${kind} string such as '10${names.at(-1)}'` })
    .regex(re, { error: `expected a ${kind}: a non-negative integer followed by one of ${names.join(", ")}` })
    .meta({ description: `${kind}: integer followed by a unit (${names.join(", ")})` });
  // NaN for a value that failed validation: cross-field checks also see those, and NaN fails
  // every comparison (and luaNum refuses to render it).
  const toBase = (value: string): number => {
    const m = typeof value === "string" ? re.exec(value) : null;
    return m ? Number(m[1]) * (units[m[2] as string] as number) : NaN;
  };
  return { schema, toBase };
}

const size = unitString("size", { B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 });
const time = unitString("time", { us: 1, ms: 1e3, s: 1e6, m: 60e6, h: 3600e6, d: 86400e6 });

export const sizeUnit = size.schema;
export const timeUnit = time.schema;

export const sizeBytes = (v: string): number => size.toBase(v);
export const sizeMBytes = (v: string): number => Math.floor(size.toBase(v) / 1024 ** 2);
export const timeMicros = (v: string): number => time.toBase(v);
export const timeMillis = (v: string): number => Math.floor(time.toBase(v) / 1e3);
export const timeSeconds = (v: string): number => Math.floor(time.toBase(v) / 1e6);
export const timeMinutes = (v: string): number => Math.floor(time.toBase(v) / 60e6);
