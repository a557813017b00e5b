import type { KresConfig } from "../../config.js";
import type { ListenConfig, ListenKind } from "./schema.js";
import { hostPortOf, sizeBytes } from "../../types/index.js";
import { luaBool, luaNum, luaStr, luaStrList, luaValue } from "../../../utils/lua-literal.js";
import { HANDED_OVER } from "./sockets.js";

/** kresd 5.6's name for each listen kind ('doq' and 'doh2-insecure' never get here: validation refuses them). */
const KRESD_KIND: Record<ListenKind, string> = {
  dns: "dns",
  xdp: "xdp",
  dot: "tls",
  "doh-legacy": "doh_legacy",
  doh2: "doh2",
  "doh2-insecure": "doh2-insecure",
  doq: "doq",
};

/**
 * The first argument of net.listen() for one 'interface' value. kresd 5.6 takes an address as a
 * string; an interface name only as the table net.interfaces() gives for it (all its addresses),
 * except for XDP, which works on whole interfaces and takes the name itself.
 */
function listenTarget(host: { addr?: string; ifName?: string }, kind: ListenKind): string {
  if (host.addr !== undefined) return luaStr(host.addr);
  const name = host.ifName as string;
  if (kind === "xdp") return luaStr(name);
  return `(net.interfaces()[${luaStr(name)}] or error(${luaStr(`network interface '${name}' not found`)}))`;
}

export interface NetworkRenderOptions {
  /** The sockets of listenSockets() are handed to kresd by its supervisor: no net.listen for them. */
  socketsHandedOver?: boolean;
}

function renderListen(entry: ListenConfig, options: NetworkRenderOptions): string[] {
  const flags = luaValue({ kind: KRESD_KIND[entry.kind], freebind: entry.freebind });
  return (entry.interface ?? []).flatMap((iface) => {
    const host = hostPortOf(iface);
    const port = host.port ?? entry.port;
    if (port === undefined) throw new Error(`listen '${iface}' has no port after validation`);
    if (options.socketsHandedOver && host.addr !== undefined && HANDED_OVER[entry.kind]) {
      const how = `${KRESD_KIND[entry.kind]}${entry.freebind ? ", freebind" : ""}`;
      return [`-- ${host.addr}@${port} (${how}): socket handed over by the supervisor`];
    }
    return [`net.listen(${listenTarget(host, entry.kind)}, ${luaNum(port)}, ${flags})`];
  });
}

/** The `network` section as kresd 5.6 Lua. */
export function renderNetwork(cfg: KresConfig, options: NetworkRenderOptions = {}): string {
  const net = cfg.network;
  const tls = net.tls;
  const lines: string[] = [`net.ipv4 = ${luaBool(net["do-ipv4"])}`, `net.ipv6 = ${luaBool(net["do-ipv6"])}`];
  if (net["out-interface-v4"] !== undefined)
    lines.push(`net.outgoing_v4(${luaStr(net["out-interface-v4"])})`);
  if (net["out-interface-v6"] !== undefined)
    lines.push(`net.outgoing_v6(${luaStr(net["out-interface-v6"])})`);
  lines.push(`net.tcp_pipeline(${luaNum(net["tcp-pipeline"])})`);
  // edns_keepalive is loaded by default in kresd 5.6; loading it again is harmless.
  lines.push(
    net["edns-tcp-keepalive"] ? "modules.load('edns_keepalive')" : "modules.unload('edns_keepalive')",
  );
  const buf = net["edns-buffer-size"];
  lines.push(`net.bufsize(${luaNum(sizeBytes(buf.downstream))}, ${luaNum(sizeBytes(buf.upstream))})`);

  if (tls["cert-file"] !== undefined && tls["key-file"] !== undefined) {
    lines.push(`net.tls(${luaStr(tls["cert-file"])}, ${luaStr(tls["key-file"])})`);
  }
  if (tls["sticket-secret"] !== undefined)
    lines.push(`net.tls_sticket_secret(${luaStr(tls["sticket-secret"])})`);
  if (tls["sticket-secret-file"] !== undefined) {
    lines.push(`net.tls_sticket_secret_file(${luaStr(tls["sticket-secret-file"])})`);
  }
  lines.push(
    `net.tls_padding(${typeof tls.padding === "boolean" ? luaBool(tls.padding) : luaNum(tls.padding)})`,
  );

  const renumbering = net["address-renumbering"];
  if (renumbering && renumbering.length > 0) {
    const pairs = renumbering.map((r) => luaStrList([r.source, r.destination]));
    lines.push("modules.load('renumber')", `renumber.config({${pairs.join(", ")}})`);
  }

  const proxy = net["proxy-protocol"];
  if (proxy.enable) lines.push(`net.proxy_allowed(${luaStrList(proxy.allow ?? [])})`);

  // Legacy DoH is served by the http module, which must be configured before the sockets open.
  if (net.listen.some((l) => l.kind === "doh-legacy")) {
    lines.push("modules.load('http')");
    if (tls["cert-file"] !== undefined && tls["key-file"] !== undefined) {
      const conf = luaValue({ cert: tls["cert-file"], key: tls["key-file"] });
      lines.push(`http.config(${conf}, 'doh_legacy')`);
    }
  }

  for (const entry of net.listen) lines.push(...renderListen(entry, options));
  return lines.join("\n");
}
