import type { KresConfig } from "../datamodel/config.js";
import { sizeMBytes, timeMicros, timeMillis } from "../datamodel/types/index.js";

/** The cache garbage collector binary of Debian's knot-resolver 5.6. */
export const KRES_CACHE_GC = "/usr/sbin/kres-cache-gc";

/** Whether the configuration wants the cache garbage collector (kres-cache-gc) running. */
export function cacheGcEnabled(cfg: KresConfig): boolean {
  return cfg.cache["garbage-collector"].enable;
}

/**
 * Command-line arguments of kres-cache-gc 5.6 (`KRES_CACHE_GC`, after the program name) for the
 * configured garbage collector: `-c` the cache directory, `-d` interval (ms), `-u` threshold (%),
 * `-f` release (%), `-l` deletes and `-L` reads per transaction, `-t` temporary key space (MiB),
 * `-m` transaction duration and `-w` delay between transactions (µs), `-n` dry run, `-v` verbose
 * when logging is at debug level or has the 'cache-gc' group. Like upstream, units are truncated
 * to what the option takes. Throws when the garbage collector is disabled: check
 * `cacheGcEnabled` first.
 */
export function cacheGcArgs(cfg: KresConfig): string[] {
  const gc = cfg.cache["garbage-collector"];
  if (!gc.enable) throw new Error("the cache garbage collector is disabled in the configuration");
  const args = [
    "-c",
    cfg.cache.storage,
    "-d",
    String(timeMillis(gc.interval)),
    "-u",
    String(gc.threshold),
    "-f",
    String(gc.release),
    "-l",
    String(gc["rw-deletes"]),
    "-L",
    String(gc["rw-reads"]),
    "-t",
    String(sizeMBytes(gc["temp-keys-space"])),
    "-m",
    String(timeMicros(gc["rw-duration"])),
    "-w",
    String(timeMicros(gc["rw-delay"])),
  ];
  if (gc["dry-run"]) args.push("-n");
  // The logging section is owned elsewhere; read only the two fields upstream looks at.
  const logging = cfg.logging as { level?: unknown; groups?: unknown };
  const groups = Array.isArray(logging.groups) ? (logging.groups as unknown[]) : [];
  if (logging.level === "debug" || groups.includes("cache-gc")) args.push("-v");
  return args;
}
