import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'forward' renderer.
export function renderForward(_cfg: KresConfig): string {
  return "";
}
