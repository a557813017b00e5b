import { z } from "zod";

function intRange(min: number, max?: number) {
  const base = z.number({ error: "expected an integer" }).int({ error: "expected an integer" });
  const lower = base.min(min, { error: `must be at least ${min}` });
  return max === undefined ? lower : lower.max(max, { error: `must be at most ${max}` });
}

export const intNonNegative = intRange(0);
export const intPositive = intRange(1);
export const int0_512 = intRange(0, 512);
export const int1_4096 = intRange(1, 4096);
export const int0_65535 = intRange(0, 65535);
export const percent = intRange(0, 100);
export const portNumber = intRange(1, 65535);
export const floatNonNegative = z
  .number({ error: "expected a number" })
  .min(0, { error: "must not be negative" });
export const float0_65535 = floatNonNegative.max(65535, { error: "must be at most 65535" });
