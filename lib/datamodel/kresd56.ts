/**
 * What Debian bookworm's kresd 5.6 cannot express or cannot take, in one place: every section's
 * schema refuses such values with these words, so an operator reads one phrase for one cause.
 */

/** The start of every refusal of something the workers cannot do. */
export const UNSUPPORTED = "not supported by kresd 5.6";

/** A refusal message: `not supported by kresd 5.6: <reason>`. */
export function unsupported(reason: string): string {
  return `${UNSUPPORTED}: ${reason}`;
}

/** kresd 5.6 keeps TTLs (cache bounds, local data, DNS64 reverse TTL) in a signed 32-bit range. */
export const TTL_MAX_SECONDS = 2 ** 31 - 1;

/** kresd 5.6 refuses an LMDB map smaller than this (cache.open). */
export const CACHE_SIZE_MIN = 8192;

/** kresd 5.6 cache.ns_tout() takes 1 … 2^32-2 milliseconds. */
export const NS_TIMEOUT_MAX_MS = 2 ** 32 - 2;

/** kresd 5.6's prefill module refuses shorter refresh intervals. */
export const PREFILL_INTERVAL_MIN_SECONDS = 3600;

/** Longest NSID kresd 5.6 still sends (measured: 65 400 bytes work with a small answer, 65 535 do not). */
export const NSID_MAX_BYTES = 65_000;
