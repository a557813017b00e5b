import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'cache' renderer.
export function renderCache(_cfg: KresConfig): string {
  return "";
}
