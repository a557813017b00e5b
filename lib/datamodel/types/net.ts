import { isIPv4, isIPv6 } from "node:net";
import { z } from "zod";

/** The address as 4 or 16 bytes; undefined if it is not an IP address. */
export function ipBytes(addr: string): Uint8Array | undefined {
  if (isIPv4(addr)) return Uint8Array.from(addr.split(".").map(Number));
  if (!isIPv6(addr)) return undefined;
  const out = new Uint8Array(16);
  // Embedded IPv4 (::ffff:1.2.3.4) becomes two hex groups, then '::' expands to zero groups.
  let text = addr.split("%")[0] as string;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    const [a, b, c, d] = text
      .slice(lastColon + 1)
      .split(".")
      .map(Number) as [number, number, number, number];
    text = `${text.slice(0, lastColon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (s: string) => (s === "" ? [] : s.split(":").map((h) => parseInt(h, 16)));
  const [head, tail] = text.split("::") as [string, string | undefined];
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  const groups =
    tail === undefined ? left : [...left, ...new Array(8 - left.length - right.length).fill(0), ...right];
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  return out;
}

export const ipv4Address = z.string({ error: "expected an IPv4 address" }).refine(isIPv4, {
  error: (iss) => `'${String(iss.input)}' is not a valid IPv4 address`,
});
export const ipv6Address = z.string({ error: "expected an IPv6 address" }).refine(isIPv6, {
  error: (iss) => `'${String(iss.input)}' is not a valid IPv6 address`,
});
export const ipAddress = z.string({ error: "expected an IP address" }).refine((s) => isIPv4(s) || isIPv6(s), {
  error: (iss) => `'${String(iss.input)}' is not a valid IP address`,
});

/** IP address followed by '!' (e.g. '127.0.0.1!'), upstream's marker for "exclude". */
export const ipAddressEM = z
  .string({ error: "expected an IP address followed by '!'" })
  .refine((s) => s.endsWith("!") && ipBytes(s.slice(0, -1)) !== undefined, {
    error: (iss) => `'${String(iss.input)}' is not an IP address followed by '!'`,
  });

export interface Network {
  version: 4 | 6;
  bytes: Uint8Array;
  prefix: number;
}

/** Parses 'addr/len' (or a bare address, a host network); host bits must be zero. */
export function parseNetwork(s: string): Network | string {
  const [addr, len, extra] = s.split("/");
  if (addr === undefined || extra !== undefined) return `'${s}' is not a network (expected 'address/prefix')`;
  const bytes = ipBytes(addr);
  if (!bytes || addr.includes("%")) return `'${addr}' is not a valid IP address`;
  const bits = bytes.length * 8;
  const prefix = len === undefined ? bits : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= bits)) return `'${len}' is not a valid prefix length for '${addr}'`;
  for (let bit = prefix; bit < bits; bit++) {
    if ((bytes[bit >> 3] as number) & (0x80 >> (bit & 7))) return `'${s}' has host bits set`;
  }
  return { version: bytes.length === 4 ? 4 : 6, bytes, prefix };
}

function network(kind: string, check: (n: Network) => string | undefined) {
  return z.string({ error: `expected ${kind}` }).superRefine((s, ctx) => {
    const n = parseNetwork(s);
    const problem = typeof n === "string" ? n : check(n);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
}

export const ipNetwork = network("an IP network", () => undefined);
export const ipv4Network = network("an IPv4 network", (n) =>
  n.version === 4 ? undefined : "expected an IPv4 network",
);
export const ipv6Network = network("an IPv6 network", (n) =>
  n.version === 6 ? undefined : "expected an IPv6 network",
);
/** IPv6 network with a prefix of at most /96, room for an embedded IPv4 address (DNS64). */
export const ipv6Network96 = network("an IPv6 /96 network", (n) =>
  n.version !== 6
    ? "expected an IPv6 network"
    : n.prefix > 96
      ? `expected a prefix of at most /96, got /${n.prefix}`
      : undefined,
);

export interface HostPort {
  /** IP address, or undefined when the host part is an interface name. */
  addr?: string;
  ifName?: string;
  port?: number;
}

const IFNAME_RE = /^[a-zA-Z0-9]+(?:[-_][a-zA-Z0-9]+)*$/;

/** Splits 'host@port'. Returns a message on error. */
export function parseHostPort(
  s: string,
  opts: { interface: boolean; portRequired: boolean },
): HostPort | string {
  const parts = s.split("@");
  if (parts.length > 2 || (opts.portRequired && parts.length !== 2)) {
    const host = opts.interface ? "<ip-address|interface-name>" : "<ip-address>";
    return `expected '${host}${opts.portRequired ? "@<port>" : "[@<port>]"}', got '${s}'`;
  }
  const [host, portText] = parts as [string, string | undefined];
  const out: HostPort = {};
  if (isIPv4(host) || isIPv6(host)) out.addr = host;
  else if (opts.interface && IFNAME_RE.test(host)) out.ifName = host;
  else
    return `expected ${opts.interface ? "an IP address or interface name" : "an IP address"}, got '${host}'`;
  if (portText !== undefined) {
    const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) return `invalid port number '${portText}'`;
    out.port = port;
  }
  return out;
}

function hostPort(kind: string, opts: { interface: boolean; portRequired: boolean }) {
  return z.string({ error: `expected ${kind}` }).superRefine((s, ctx) => {
    const r = parseHostPort(s, opts);
    if (typeof r === "string") ctx.addIssue({ code: "custom", message: r });
  });
}

/** Parses a value already validated by one of the host-port schemas. */
export function hostPortOf(s: string): HostPort {
  const r = parseHostPort(s, { interface: true, portRequired: false });
  if (typeof r === "string") throw new TypeError(r);
  return r;
}

export const interfacePort = hostPort("'<ip-address|interface-name>@<port>'", {
  interface: true,
  portRequired: true,
});
export const interfaceOptionalPort = hostPort("'<ip-address|interface-name>[@<port>]'", {
  interface: true,
  portRequired: false,
});
export const ipAddressPort = hostPort("'<ip-address>@<port>'", { interface: false, portRequired: true });
export const ipAddressOptionalPort = hostPort("'<ip-address>[@<port>]'", {
  interface: false,
  portRequired: false,
});
