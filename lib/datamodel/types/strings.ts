import { domainToASCII } from "node:url";
import { z } from "zod";

/**
 * Free text that reaches kresd as a Lua string (nsid, hostname, …). Anything goes except NUL,
 * which kresd's C side would silently cut the string at.
 */
export const freeText = z
  .string({ error: "expected a string" })
  .refine((s) => !s.includes("\0"), { error: "must not contain a NUL character" });

/** Same as freeText, at least 32 bytes long (secrets). */
export const freeText32B = freeText.refine((s) => Buffer.byteLength(s, "utf8") >= 32, {
  error: "must be at least 32 bytes long",
});

// Labels of letters, digits and inner hyphens, at most 63 chars each, 253 in total,
// optionally ending with a dot; or the root zone '.'.
const DOMAIN_RE = /(?=^.{0,253}\.?$)(^(?!\.)((?!-)\.?[a-zA-Z0-9-]{0,62}[a-zA-Z0-9])+\.?$)|^\.$/;

/** IDNA (punycode) form of a domain name; undefined when it has none. */
export function punycode(name: string): string | undefined {
  if (name === ".") return ".";
  const ascii = domainToASCII(name);
  if (ascii === "" || !DOMAIN_RE.test(ascii)) return undefined;
  if (ascii.split(".").some((label) => label.length > 63)) return undefined;
  return ascii;
}

/** Fully or partially qualified domain name, unicode allowed (kept as written). */
export const domainName = z
  .string({ error: "expected a domain name" })
  .refine((s) => punycode(s) !== undefined, {
    error: (iss) => `'${String(iss.input)}' is not a valid domain name`,
  })
  .meta({ description: "domain name", pattern: DOMAIN_RE.source });

/** The name in absolute form (trailing dot), punycode: what kresd's todname() wants. */
export function absoluteName(name: string): string {
  const p = punycode(name) ?? name;
  return p.endsWith(".") ? p : `${p}.`;
}

export const interfaceName = z
  .string({ error: "expected an interface name" })
  .regex(/^[a-zA-Z0-9]+(?:[-_][a-zA-Z0-9]+)*$/, { error: "expected a network interface name" });

export const idPattern = z
  .string({ error: "expected an ID" })
  .regex(/^(?!-)[a-z0-9-]*[a-z0-9]+$/, { error: "expected lowercase letters, digits and inner hyphens" });

export const pinSha256 = z
  .string({ error: "expected a pin" })
  .regex(/^[A-Za-z\d+/]{43}=$/, { error: "expected a base64-encoded SHA-256 digest (44 characters)" });
