import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'logging' renderer.
export function renderLogging(_cfg: KresConfig): string {
  return "";
}
