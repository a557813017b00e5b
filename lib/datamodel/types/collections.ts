import { z } from "zod";

/** Upstream's ListOrItem: a single value or a list of them; always a list once validated. */
export function listOrItem<T extends z.ZodType>(item: T) {
  return z
    .union([z.array(item).min(1, { error: "expected a non-empty list" }), item])
    .transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);
}
