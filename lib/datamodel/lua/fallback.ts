import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'fallback' renderer.
export function renderFallback(_cfg: KresConfig): string {
  return "";
}
