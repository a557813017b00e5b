import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'dnssec' renderer.
export function renderDnssec(_cfg: KresConfig): string {
  return "";
}
