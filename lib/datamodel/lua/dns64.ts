import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'dns64' renderer.
export function renderDns64(_cfg: KresConfig): string {
  return "";
}
