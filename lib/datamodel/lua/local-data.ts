import type { KresConfig } from "../config.js";

// STUB: to be replaced by the real 'local-data' renderer.
export function renderLocalData(_cfg: KresConfig): string {
  return "";
}
