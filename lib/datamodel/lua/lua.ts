import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'lua' renderer.
export function renderLua(_cfg: KresConfig): string {
  return "";
}
