import type { KresConfig } from "../../config.js";

/**
 * The `fallback` section. Validation refuses `enable: true` (kresd 5.6 has no fallback module),
 * so a validated config never asks for anything here; servers of a disabled fallback are unused.
 */
export function renderFallback(cfg: KresConfig): string {
  if (cfg.fallback.enable) throw new Error("fallback.enable passed validation, but kresd 5.6 cannot do it");
  return "";
}
