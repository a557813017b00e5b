import type { KresConfig } from "../../config.js";

/**
 * kresd 5.6 has no rate limiting; validation refuses `enable: true`, so a valid config leaves
 * nothing to render.
 */
export function renderRateLimiting(cfg: KresConfig): string {
  if (cfg["rate-limiting"].enable) {
    throw new Error("rate-limiting cannot be rendered for kresd 5.6 (validation should have refused it)");
  }
  return "";
}
