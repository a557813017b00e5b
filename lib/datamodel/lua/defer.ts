import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'defer' renderer.
export function renderDefer(_cfg: KresConfig): string {
  return "";
}
