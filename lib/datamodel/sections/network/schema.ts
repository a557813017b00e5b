import * as fs from "node:fs";
import { z } from "zod";
import { validationContext } from "../../context.js";
import {
  freeText32B,
  hostPortOf,
  int0_512,
  int0_65535,
  int1_4096,
  interfaceOptionalPort,
  ipAddress,
  ipBytes,
  ipNetwork,
  ipv4Address,
  ipv6Address,
  listOrItem,
  parseNetwork,
  portNumber,
  readableFile,
  sizeBytes,
  sizeUnit,
  writableFilePath,
} from "../../types/index.js";
import { UNSUPPORTED, unsupported } from "../../kresd56.js";
import { oldValue, removedKey, renamedKey } from "../../old-spellings.js";

type Ctx = z.core.$RefinementCtx;

/** Cross-field checks run only once every part validated (zod would run them on broken values too). */
const ONCE_VALID = { when: (payload: z.core.ParsePayload) => payload.issues.length === 0 };

function problem(ctx: Ctx, path: PropertyKey[], message: string): void {
  ctx.addIssue({ code: "custom", path, message });
}

// ---------------------------------------------------------------------------------------------
// listen

/**
 * Transport protocols a listener may carry: upstream's list, with DNS-over-QUIC (`doq`) and DoH
 * without TLS (`doh2-insecure`), which kresd 5.6 does not have.
 */
export const LISTEN_KINDS = ["dns", "xdp", "dot", "doh-legacy", "doh2", "doh2-insecure", "doq"] as const;
export type ListenKind = (typeof LISTEN_KINDS)[number];

/** Upstream's port for a kind when neither 'port' nor '@<port>' gives one. */
export function defaultPort(kind: ListenKind): number {
  switch (kind) {
    case "dot":
    case "doq":
      return 853;
    case "doh-legacy":
    case "doh2":
      return 443;
    case "doh2-insecure":
      return 80;
    default:
      return 53;
  }
}

/** What each kind occupies on its address and port; two listeners sharing one of these clash. */
const OCCUPIES: Record<ListenKind, readonly string[]> = {
  dns: ["UDP", "TCP"],
  xdp: ["XDP"],
  dot: ["TCP"],
  "doh-legacy": ["TCP"],
  doh2: ["TCP"],
  "doh2-insecure": ["TCP"],
  doq: ["UDP"],
};

const listenObject = z
  .strictObject({
    interface: listOrItem(interfaceOptionalPort).optional().meta({
      description:
        "IP address(es) or interface name(s) to listen on, each optionally with '@<port>' (e.g. '127.0.0.1@5353', 'eth0').",
    }),
    "unix-socket": listOrItem(writableFilePath)
      .optional()
      .meta({ description: "Unix domain socket(s) to listen on." }),
    port: portNumber.optional().meta({
      description:
        "Port to listen on; by default 53 (dns, xdp), 853 (dot, doq), 443 (doh2, doh-legacy) or 80 (doh2-insecure).",
    }),
    kind: z
      .enum(LISTEN_KINDS, { error: `expected one of ${LISTEN_KINDS.map((k) => `'${k}'`).join(", ")}` })
      .default("dns")
      .meta({ description: "DNS transport served on this listener." }),
    freebind: z
      .boolean()
      .default(false)
      .meta({ description: "Allow binding to an address that is not (yet) local." }),
  })
  .superRefine((l, ctx) => {
    const ifaces = l.interface;
    const sockets = l["unix-socket"];
    if (ifaces && sockets) {
      problem(
        ctx,
        ["unix-socket"],
        "'interface' and 'unix-socket' are both set; configure exactly one of them",
      );
    } else if (!ifaces && !sockets) {
      problem(ctx, [], "configure exactly one of 'interface' or 'unix-socket'");
    }
    if (ifaces) {
      const ports = ifaces.map((i) => hostPortOf(i).port);
      ifaces.forEach((iface, i) => {
        const own = ports[i];
        if (own !== undefined && l.port !== undefined) {
          problem(
            ctx,
            ["interface", i],
            `'${iface}' gives a port and so does 'port' (${l.port}); give the port in one place only`,
          );
        } else if ((own !== undefined) !== (ports[0] !== undefined)) {
          problem(
            ctx,
            ["interface", i],
            `'${iface}': use the '@<port>' syntax for all interfaces of the list or for none of them`,
          );
        }
      });
    }
    if (sockets) {
      if (l.port !== undefined) {
        problem(ctx, ["port"], "'port' cannot be used with 'unix-socket', only with 'interface'");
      }
      if (l.kind === "xdp") {
        problem(
          ctx,
          ["kind"],
          "kind 'xdp' works on network interfaces: it needs 'interface', not 'unix-socket'",
        );
      } else {
        problem(
          ctx,
          ["unix-socket"],
          UNSUPPORTED +
            ": " +
            "it serves DNS on IP addresses and network interfaces only, not on unix sockets",
        );
      }
    }
    if (l.kind === "doq") {
      problem(ctx, ["kind"], unsupported("it has no DNS-over-QUIC ('doq')"));
    }
    if (l.kind === "doh2-insecure") {
      problem(
        ctx,
        ["kind"],
        unsupported("its DNS-over-HTTPS ('doh2') always uses TLS; it has no 'doh2-insecure'"),
      );
    }
  }, ONCE_VALID)
  .transform((l) => ({
    ...l,
    // Upstream fills the port from the kind for interfaces; '@<port>' on an interface still wins.
    port: l.port ?? (l.interface ? defaultPort(l.kind) : undefined),
  }));

const DEFAULT_LISTEN = [{ interface: "127.0.0.1" }, { interface: "::1", freebind: true }];

const listenList = z
  .array(listenObject)
  .superRefine((list, ctx) => {
    if (list.length === 0) {
      problem(
        ctx,
        [],
        UNSUPPORTED +
          ": " +
          "with nothing to listen on, kresd 5.6 falls back to listening on 127.0.0.1 and ::1, ports 53 and 853",
      );
      return;
    }
    // Two listeners on the same literal address and port that need the same transport cannot both
    // bind (kresd fails, or worse, TCP connections are shared between a 'dns' and a 'dot' socket).
    const taken = new Map<string, number>();
    list.forEach((entry, i) => {
      (entry.interface ?? []).forEach((iface, j) => {
        const hp = hostPortOf(iface);
        const port = hp.port ?? entry.port;
        if (port === undefined) return;
        const host = hp.addr
          ? `ip:${Buffer.from(ipBytes(hp.addr) ?? []).toString("hex")}%${hp.addr.split("%")[1] ?? ""}`
          : `if:${hp.ifName}`;
        for (const transport of OCCUPIES[entry.kind]) {
          const key = `${host}@${port}/${transport}`;
          const first = taken.get(key);
          if (first === undefined) {
            taken.set(key, i);
          } else {
            const where = first === i ? "earlier in this entry" : `by listen entry ${first}`;
            problem(
              ctx,
              [i, "interface", j],
              `'${hp.addr ?? hp.ifName}' port ${port} (${transport}) is already listened on ${where}`,
            );
            break;
          }
        }
      });
    });
  }, ONCE_VALID)
  .prefault(DEFAULT_LISTEN)
  .meta({ description: "Addresses, interfaces and protocols to serve DNS on." });

export type ListenConfig = z.output<typeof listenObject>;

// ---------------------------------------------------------------------------------------------
// the rest of the section

function bufferSize(description: string) {
  return sizeUnit
    .refine(
      (v) => {
        const bytes = sizeBytes(v);
        return bytes >= 512 && bytes <= 65535;
      },
      {
        error: (iss) => `'${String(iss.input)}' is out of range: an EDNS buffer size is 512B to 65535B`,
        ...ONCE_VALID,
      },
    )
    .default("1232B")
    .meta({ description });
}

/** Upstream's IPAddressEM or IPAddress: an address, optionally with '!' (replace the whole address). */
const renumberTarget = z
  .string({ error: "expected an IP address, optionally followed by '!'" })
  .refine((s) => !s.includes("%") && ipAddress.safeParse(s.replace(/!$/, "")).success, {
    error: (iss) => `'${String(iss.input)}' is not an IP address (optionally followed by '!')`,
  });

const renumberingEntry = z
  .strictObject({
    source: ipNetwork.meta({ description: "Subnet whose addresses in answers are renumbered." }),
    destination: renumberTarget.meta({
      description:
        "Prefix the source subnet is mapped to, or with a trailing '!' one address replacing every match.",
    }),
  })
  .superRefine((r, ctx) => {
    const source = parseNetwork(r.source);
    const dest = ipBytes(r.destination.replace(/!$/, ""));
    if (typeof source === "string" || !dest) return;
    const destVersion = dest.length === 4 ? 4 : 6;
    if (source.version !== destVersion) {
      problem(
        ctx,
        ["destination"],
        `'${r.destination}' is IPv${destVersion} but the source '${r.source}' is IPv${source.version}`,
      );
    }
  }, ONCE_VALID);

const watchdogValue = z.union([z.literal("auto"), z.boolean()], { error: "expected 'auto', true or false" });

const tlsSchema = z
  .strictObject({
    watchdog: watchdogValue.default("auto").meta({
      description:
        "Reload the certificate in every running worker when cert-file or key-file changes (replaced, renamed over, or a symlink switched); 'auto' (the default) is on, as the manager can always watch files.",
    }),
    "files-watchdog": renamedKey("network/tls/watchdog"),
    "auto-discovery": removedKey(),
    "cert-file": readableFile.optional().meta({ description: "TLS certificate file (PEM)." }),
    "key-file": readableFile.optional().meta({ description: "TLS private key file (PEM)." }),
    "sticket-secret": freeText32B.optional().meta({
      description:
        "Secret for TLS session resumption via tickets (RFC 5077), at least 32 bytes; shared by all workers.",
    }),
    "sticket-secret-file": readableFile.optional().meta({
      description: "File holding the secret for TLS session resumption via tickets (RFC 5077).",
    }),
    padding: z
      .union([z.boolean(), int0_512], { error: "expected true, false or an integer from 0 to 512" })
      .default(true)
      .meta({
        description:
          "EDNS(0) padding of answers over encrypted transports: true (default scheme), false, or a block size in bytes.",
      }),
  })
  .superRefine((t, ctx) => {
    if (t["sticket-secret"] !== undefined && t["sticket-secret-file"] !== undefined) {
      problem(
        ctx,
        ["sticket-secret-file"],
        "'sticket-secret' and 'sticket-secret-file' are both set; use only one of them",
      );
    }
    const ticketFile = t["sticket-secret-file"];
    if (ticketFile !== undefined && validationContext().strict && fs.statSync(ticketFile).size < 32) {
      // kresd 5.6 refuses to start with a shorter secret.
      problem(
        ctx,
        ["sticket-secret-file"],
        `'${ticketFile}' is shorter than 32 bytes, the least kresd accepts`,
      );
    }
    if ((t["cert-file"] === undefined) !== (t["key-file"] === undefined)) {
      const [given, missing] =
        t["cert-file"] === undefined ? ["key-file", "cert-file"] : ["cert-file", "key-file"];
      problem(ctx, [missing], `'${given}' is set, so '${missing}' must be too: they are configured together`);
    }
  }, ONCE_VALID)
  .prefault({})
  .meta({ description: "TLS settings for DNS-over-TLS and DNS-over-HTTPS." });

const proxySchema = z
  .strictObject(
    {
      enable: z.boolean().default(false).meta({ description: "Accept PROXYv2 headers (off by default)." }),
      allow: z.array(ipNetwork).optional().meta({
        description: "Clients (addresses or networks) allowed to send PROXYv2 headers.",
      }),
    },
    {
      error: (iss) =>
        iss.input === false
          ? `expected an object; ${oldValue("proxy-protocol: false", "proxy-protocol: {enable: false}")}`
          : "expected an object with 'enable' and 'allow'",
    },
  )
  .superRefine((p, ctx) => {
    // Upstream cannot render it either (it iterates the missing list).
    if (p.enable && p.allow === undefined) {
      problem(
        ctx,
        ["allow"],
        "'enable' is true: list the addresses or networks allowed to send PROXYv2 headers",
      );
    }
  }, ONCE_VALID)
  .prefault({})
  .meta({
    description:
      "PROXYv2 protocol: off unless 'enable' is true (since Knot Resolver 6.1 'allow' alone does not turn it on).",
  });

/** Upstream's DNS-over-QUIC tuning; kresd 5.6 has no DoQ, so only the defaults are accepted. */
function quicSetting<T extends z.ZodType<number | boolean>>(
  type: T,
  fallback: z.output<T>,
  description: string,
) {
  return type
    .refine((v) => v === fallback, {
      error: (iss) =>
        unsupported(
          `it has no DNS-over-QUIC to tune (got ${String(iss.input)}, only the default ${String(fallback)} has no effect)`,
        ),
      ...ONCE_VALID,
    })
    .default(fallback as never)
    .meta({ description });
}

const quicSchema = z
  .strictObject({
    "max-conns": quicSetting(int1_4096, 1024, "Maximum number of active DoQ connections one worker accepts."),
    "max-streams": quicSetting(
      int1_4096,
      1024,
      "Maximum number of concurrent streams one DoQ connection may open.",
    ),
    "require-retry": quicSetting(
      z.boolean(),
      false,
      "Require address validation of unknown source addresses (adds one round trip).",
    ),
  })
  .prefault({})
  .meta({
    description:
      "DNS-over-QUIC settings. kresd 5.6 has no DoQ: only the default values are accepted (and have no effect).",
  });

/** The `network` section: listeners, transports, TLS and outgoing connections. */
export const networkSchema = z
  .strictObject({
    "do-ipv4": z.boolean().default(true).meta({ description: "Use IPv4 to contact upstream servers." }),
    "do-ipv6": z.boolean().default(true).meta({ description: "Use IPv6 to contact upstream servers." }),
    "out-interface-v4": ipv4Address.optional().meta({
      description: "IPv4 source address of queries to upstream servers; the OS chooses by default.",
    }),
    "out-interface-v6": ipv6Address.optional().meta({
      description: "IPv6 source address of queries to upstream servers; the OS chooses by default.",
    }),
    "tcp-pipeline": int0_65535.default(100).meta({
      description: "How many queries one client TCP connection may have outstanding at once.",
    }),
    "edns-tcp-keepalive": z.boolean().default(true).meta({
      description: "Tell clients the TCP connection timeout (EDNS TCP keepalive, RFC 7828).",
    }),
    "edns-buffer-size": z
      .strictObject({
        upstream: bufferSize("EDNS payload size advertised to upstream servers."),
        downstream: bufferSize("EDNS payload size advertised to clients."),
      })
      .prefault({})
      .meta({ description: "Maximum EDNS payload sizes advertised in DNS messages." }),
    "address-renumbering": z.array(renumberingEntry).optional().meta({
      description: "Rewrite addresses in answers from one subnet to another address space.",
    }),
    tls: tlsSchema,
    "proxy-protocol": proxySchema,
    quic: quicSchema,
    listen: listenList,
  })
  .prefault({})
  .meta({ description: "Network listeners, transports and connection settings." });
export type NetworkConfig = z.output<typeof networkSchema>;
