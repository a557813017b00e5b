import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'views' renderer.
export function renderViews(_cfg: KresConfig): string {
  return "";
}
