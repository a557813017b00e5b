import { z } from "zod";
import {
  absoluteName,
  domainName,
  ipAddressOptionalPort,
  listOrItem,
  parseHostPort,
  pinSha256,
  readableFile,
} from "../../types/index.js";
import { UNSUPPORTED } from "../../kresd56.js";

/** A forward server given as an object: address(es) plus how to reach and authenticate it. */
export const forwardServerSchema = z
  .strictObject({
    address: listOrItem(ipAddressOptionalPort).meta({
      description: "IP address(es) of the server, each optionally with '@<port>'.",
    }),
    transport: z
      .literal("tls", { error: "expected 'tls' (or leave it out for plain DNS)" })
      .optional()
      .meta({ description: "'tls' for DNS-over-TLS; plain DNS when not set." }),
    "pin-sha256": listOrItem(pinSha256)
      .optional()
      .meta({ description: "SHA-256 pin(s) (base64) of the server's TLS public key." }),
    hostname: domainName
      .optional()
      .meta({ description: "Name the server's TLS certificate is checked against." }),
    "ca-file": readableFile
      .optional()
      .meta({ description: "CA certificate(s) (PEM) to verify the server's TLS certificate with." }),
  })
  .superRefine((s, ctx) => {
    if (s["pin-sha256"] && (s.hostname !== undefined || s["ca-file"] !== undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["pin-sha256"],
        message: "'pin-sha256' cannot be configured together with 'hostname' or 'ca-file'",
      });
    }
    // As upstream, the TLS settings of a plain DNS server are accepted and have no effect.
    if (s.transport !== "tls") return;
    if (s["pin-sha256"] === undefined && s.hostname === undefined) {
      ctx.addIssue({
        code: "custom",
        path: s["ca-file"] !== undefined ? ["ca-file"] : ["transport"],
        message:
          s["ca-file"] !== undefined
            ? "'ca-file' needs 'hostname' too: the name the certificate is checked against"
            : "a TLS server needs 'hostname' or 'pin-sha256' to be authenticated",
      });
    }
  })
  .meta({ description: "A forward server: address(es), transport and TLS authentication." });

/** Servers of a forward rule (or of fallback): each an 'address[@port]' string or a server object. */
export const forwardServersSchema = z
  .array(
    z.union([ipAddressOptionalPort, forwardServerSchema], {
      error: "expected an 'address[@port]' string or a server object",
    }),
    { error: "expected a list of servers" },
  )
  .min(1, { error: "expected at least one server" })
  .superRefine((servers, ctx) => {
    // kresd 5.6 refuses a TLS forwarding target listed twice in one set.
    const seen = new Map<string, string>();
    forwardTargets(servers).forEach((t) => {
      if (!t.tls) return;
      const first = seen.get(t.key);
      if (first !== undefined) {
        ctx.addIssue({
          code: "custom",
          path: t.path,
          message: `${UNSUPPORTED}: TLS server ${t.key} is listed twice (first at servers/${first})`,
        });
      } else seen.set(t.key, t.path.join("/"));
    });
  })
  .meta({ description: "List of servers: 'address[@port]' strings and/or server objects (for TLS)." });

export type ForwardServersConfig = z.output<typeof forwardServersSchema>;
export type ForwardServerConfig = z.output<typeof forwardServerSchema>;

/** One resolved forwarding target: one address of one server, with its TLS settings. */
export interface ForwardTarget {
  /** The address as written, possibly with '@port'. */
  address: string;
  addr: string;
  port: number;
  /** 'addr@port' with the default port filled in (53 plain, 853 TLS). */
  key: string;
  tls: boolean;
  hostname?: string;
  pins?: string[];
  caFile?: string;
  /** Where it came from, relative to the servers list: [i] or [i, 'address', j]. */
  path: (string | number)[];
}

/** Flattens validated servers to one target per address. */
export function forwardTargets(servers: ForwardServersConfig): ForwardTarget[] {
  const out: ForwardTarget[] = [];
  servers.forEach((server, i) => {
    const one = typeof server === "string";
    // A single address that failed validation reaches the cross-field checks unwrapped (no list).
    const addresses = one ? [server] : ([] as string[]).concat(server.address);
    const tls = !one && server.transport === "tls";
    addresses.forEach((address, j) => {
      // Cross-field checks also run when some address failed validation: skip those.
      const hp = parseHostPort(address, { interface: false, portRequired: false });
      if (typeof hp === "string" || hp.addr === undefined) return;
      const addr = hp.addr;
      const port = hp.port ?? (tls ? 853 : 53);
      out.push({
        address,
        addr,
        port,
        key: `${addr}@${port}`,
        tls,
        hostname: !tls || server.hostname === undefined ? undefined : tlsHostname(server.hostname),
        pins: tls ? server["pin-sha256"] : undefined,
        caFile: tls ? server["ca-file"] : undefined,
        path: one ? [i] : [i, "address", j],
      });
    });
  });
  return out;
}

/** The hostname as the TLS layer compares it: ASCII (punycode), without the trailing dot. */
export function tlsHostname(name: string): string {
  const abs = absoluteName(name);
  return abs === "." ? abs : abs.slice(0, -1);
}

/** How a TLS target is authenticated; kresd 5.6 keeps one such setting per address. */
export function tlsAuthOf(t: ForwardTarget): string {
  return JSON.stringify([t.hostname ?? null, t.pins ?? null, t.caFile ?? null]);
}

const forwardOptionsSchema = z
  .strictObject({
    authoritative: z
      .boolean()
      .default(false)
      .meta({ description: "The servers are authoritative for the subtree (not resolvers)." }),
    dnssec: z.boolean().default(true).meta({ description: "Validate DNSSEC of answers in the subtree." }),
  })
  .prefault({})
  .meta({ description: "How the subtree is forwarded." });

const forwardRuleSchema = z
  .strictObject({
    subtree: listOrItem(domainName).meta({ description: "Domain name(s) whose subtree is forwarded." }),
    servers: forwardServersSchema,
    options: forwardOptionsSchema,
  })
  .superRefine((rule, ctx) => {
    const targets = forwardTargets(rule.servers);
    const first = targets[0];
    if (rule.options.authoritative) {
      for (const t of targets) {
        if (t.tls) {
          ctx.addIssue({
            code: "custom",
            path: ["servers", t.path[0] as number, "transport"],
            message: "forwarding to authoritative servers over TLS is not supported",
          });
          break;
        }
      }
      for (const t of targets) {
        if (t.port !== 53) {
          ctx.addIssue({
            code: "custom",
            path: ["servers", ...t.path],
            message: `forwarding to authoritative servers on a custom port is not supported (got port ${t.port})`,
          });
        }
      }
      if (rule.options.dnssec) {
        ctx.addIssue({
          code: "custom",
          path: ["options", "authoritative"],
          message:
            `${UNSUPPORTED}: authoritative forwarding maps to policy.STUB, which does not validate DNSSEC; ` +
            "set 'options/dnssec: false' (or forward to a resolver with 'authoritative: false')",
        });
      }
    }
    if (first) {
      const mixed = targets.find((t) => t.tls !== first.tls);
      if (mixed) {
        ctx.addIssue({
          code: "custom",
          path: ["servers", mixed.path[0] as number],
          message: `${UNSUPPORTED}: one forward rule cannot mix TLS and plain DNS servers`,
        });
      }
    }
  })
  .meta({ description: "Forwarding of one or more subtrees to the given servers." });

export type ForwardRuleConfig = z.output<typeof forwardRuleSchema>;

/** Whether absolute name `name` is strictly below absolute name `parent`. */
export function isBelow(name: string, parent: string): boolean {
  if (name === parent) return false;
  return parent === "." || name.endsWith(`.${parent}`);
}

/** How many labels a name has; the root has none. Used to order rules most specific first. */
export function labelCount(name: string): number {
  const abs = absoluteName(name);
  return abs === "." ? 0 : abs.split(".").length - 1;
}

export const forwardSchema = z
  .array(forwardRuleSchema, { error: "expected a list of forward rules" })
  .superRefine((rules, ctx) => {
    // A subtree that failed validation is still a bare string here: such rules are skipped.
    const subtreesOf = (rule: (typeof rules)[number]): string[] =>
      Array.isArray(rule.subtree) ? rule.subtree : [];
    // Upstream matches the longest subtree; with kresd 5.6 we order rules, so one subtree
    // must not be claimed twice (one of the two would be silently ignored).
    const subtrees = new Map<string, string>();
    rules.forEach((rule, i) =>
      subtreesOf(rule).forEach((name, j) => {
        const key = absoluteName(name);
        const first = subtrees.get(key);
        if (first !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: [i, "subtree", j],
            message: `subtree '${key}' is already forwarded by ${first}`,
          });
        } else subtrees.set(key, `/forward/${i}/subtree/${j}`);
      }),
    );
    // `dnssec: false` becomes a negative trust anchor in kresd 5.6, which covers the whole
    // subtree: a rule below it that wants validation would silently not get it.
    const insecure: { name: string; where: string }[] = [];
    rules.forEach((rule, i) => {
      if (!rule.options.dnssec) {
        subtreesOf(rule).forEach((name, j) =>
          insecure.push({ name: absoluteName(name), where: `/forward/${i}/subtree/${j}` }),
        );
      }
    });
    rules.forEach((rule, i) => {
      if (!rule.options.dnssec) return;
      subtreesOf(rule).forEach((name, j) => {
        const abs = absoluteName(name);
        const above = insecure.find((n) => isBelow(abs, n.name));
        if (above) {
          ctx.addIssue({
            code: "custom",
            path: [i, "options", "dnssec"],
            message: `${UNSUPPORTED}: '${abs}' (subtree/${j}) cannot be validated below '${above.name}' (${above.where}), which is forwarded with dnssec: false; kresd 5.6 turns that off for the whole subtree (a negative trust anchor)`,
          });
        }
      });
    });
    // kresd 5.6 keeps TLS authentication per server address, globally: one address cannot be
    // authenticated differently by two rules.
    const auth = new Map<string, { auth: string; where: string }>();
    rules.forEach((rule, i) =>
      forwardTargets(rule.servers).forEach((t) => {
        if (!t.tls) return;
        const where = `/forward/${i}/servers/${t.path.join("/")}`;
        const seen = auth.get(t.key);
        if (seen === undefined) auth.set(t.key, { auth: tlsAuthOf(t), where });
        else if (seen.auth !== tlsAuthOf(t)) {
          ctx.addIssue({
            code: "custom",
            path: [i, "servers", ...t.path],
            message: `${UNSUPPORTED}: TLS server ${t.key} is authenticated differently at ${seen.where}; kresd 5.6 keeps one TLS setting per address`,
          });
        }
      }),
    );
  })
  .optional()
  .meta({ description: "Subtrees resolved by forwarding to other servers instead of recursion." });

export type ForwardConfig = z.output<typeof forwardSchema>;
