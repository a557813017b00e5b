import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'monitoring' renderer.
export function renderMonitoring(_cfg: KresConfig): string {
  return "";
}
