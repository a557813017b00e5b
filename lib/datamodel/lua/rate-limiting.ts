import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'rate-limiting' renderer.
export function renderRateLimiting(_cfg: KresConfig): string {
  return "";
}
