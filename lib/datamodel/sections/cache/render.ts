import type { KresConfig } from "../../config.js";
import { luaNum, luaStr, luaValue } from "../../../utils/lua-literal.js";
import { sizeBytes, timeMillis, timeMinutes, timeSeconds } from "../../types/index.js";

/** The cache section: LMDB storage and size, TTL bounds, NS timeout, prefill and prefetch. */
export function renderCache(cfg: KresConfig): string {
  const c = cfg.cache;
  const lines = [
    `cache.open(${luaNum(sizeBytes(c["size-max"]))}, ${luaStr(`lmdb://${c.storage}`)})`,
    // kresd refuses a max_ttl not above the current min_ttl and a min_ttl not below the current
    // max_ttl; dropping the minimum first lets the two bounds be set in any combination.
    "cache.min_ttl(0)",
    `cache.max_ttl(${luaNum(timeSeconds(c["ttl-max"]))})`,
    `cache.min_ttl(${luaNum(timeSeconds(c["ttl-min"]))})`,
    `cache.ns_tout(${luaNum(timeMillis(c["ns-timeout"]))})`,
  ];

  if (c.prefill && c.prefill.length > 0) {
    const zones: Record<string, { url: string; interval: number; ca_file?: string }> = {};
    for (const item of c.prefill) {
      zones[item.origin] = {
        url: item.url,
        interval: timeSeconds(item["refresh-interval"]),
        ca_file: item["ca-file"],
      };
    }
    lines.push(
      "",
      "-- cache.prefill",
      `modules.load(${luaStr("prefill")})`,
      `prefill.config(${luaValue(zones)})`,
    );
  }

  const { expiring, prediction } = c.prefetch;
  if (expiring || prediction.enable) {
    // 5.6's predict module always refreshes expiring records; a period of 0 turns prediction off.
    const settings = prediction.enable
      ? { window: timeMinutes(prediction.window), period: prediction.period }
      : { period: 0 };
    lines.push(
      "",
      "-- cache.prefetch",
      `modules.load(${luaStr("predict")})`,
      `predict.config(${luaValue(settings)})`,
    );
  }
  return lines.join("\n");
}
