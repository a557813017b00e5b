import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'options' renderer.
export function renderOptions(_cfg: KresConfig): string {
  return "";
}
