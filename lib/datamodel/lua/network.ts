import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'network' renderer.
export function renderNetwork(_cfg: KresConfig): string {
  return "";
}
