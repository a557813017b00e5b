import type { KresConfig } from "../../config.js";

/**
 * kresd 5.6 has no request prioritization; validation refuses `enable: true`, so there is
 * nothing to render (5.6 processes requests in arrival order, as defer-off does).
 */
export function renderDefer(cfg: KresConfig): string {
  if (cfg.defer.enable) {
    throw new Error("defer cannot be rendered for kresd 5.6 (validation should have refused it)");
  }
  return "";
}
