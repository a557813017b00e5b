/**
 * A zone of many names for knotd (harness/knotd.ts), to fill a resolver's cache with a big subtree:
 * `count` A records n0.<origin> … n<count-1>.<origin>, each answered authoritatively.
 */
export interface BigZone {
  origin: string;
  /** Every name of the zone with an A record, absolute. */
  names: string[];
  /** The zone file text for startKnotd's `zones`. */
  text: string;
}

export function bigZone(origin: string, count: number): BigZone {
  const names = Array.from({ length: count }, (_, i) => `n${i}.${origin}.`);
  const text = [
    "$TTL 3600",
    "@ SOA ns hostmaster 1 3600 900 604800 300",
    "@ NS ns",
    "ns A 127.0.0.1",
    ...names.map((n, i) => `${n} A 198.51.${(i >> 8) & 255}.${i & 255}`),
  ].join("\n");
  return { origin, names, text };
}
