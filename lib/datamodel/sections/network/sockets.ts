import type { KresConfig } from "../../config.js";
import type { ListenKind } from "./schema.js";
import { hostPortOf } from "../../types/index.js";

/**
 * One socket a listener needs, for a supervisor that binds the sockets itself and hands the same
 * ones to every worker (kresd 5.6: `-S FD[:kind]`). Only IP addresses with kinds kresd takes that
 * way (plain DNS and DoT); interface names, XDP, DoH and legacy DoH stay with net.listen().
 */
export interface ListenSocket {
  addr: string;
  port: number;
  proto: "udp" | "tcp";
  /** kresd's kind for `-S FD:kind`. */
  kind: "dns" | "tls";
  freebind: boolean;
}

// kresd 5.6 takes `-S FD` (UDP or TCP) and `-S FD:tls`; any other kind (doh2 too) must be one
// registered from Lua, which none is when -S is read.
export const HANDED_OVER: Partial<Record<ListenKind, ListenSocket["kind"]>> = { dns: "dns", dot: "tls" };

/** The sockets of the listeners that can be handed over; the rest is left to renderNetwork. */
export function listenSockets(cfg: KresConfig): ListenSocket[] {
  const out: ListenSocket[] = [];
  for (const entry of cfg.network.listen) {
    const kind = HANDED_OVER[entry.kind];
    if (!kind) continue;
    for (const iface of entry.interface ?? []) {
      const host = hostPortOf(iface);
      const port = host.port ?? entry.port;
      if (host.addr === undefined || port === undefined) continue;
      const protos: ListenSocket["proto"][] = kind === "dns" ? ["udp", "tcp"] : ["tcp"];
      for (const proto of protos) out.push({ addr: host.addr, port, proto, kind, freebind: entry.freebind });
    }
  }
  return out;
}
