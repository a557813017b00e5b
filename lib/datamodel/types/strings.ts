import { domainToASCII } from "node:url";
import { z } from "zod";

/**
 * Free text that reaches kresd as a Lua string (nsid, hostname, …). Anything goes except NUL,
 * which kresd's C side would silently cut the string at.
 */
export const freeText = z
  .string({ error: "expected a string" })
  .refine((s) => !s.includes("\0"), { error: "must not contain a NUL character" });

/**
 * Upstream's EscapedStr where a YAML number is as good as text (nsid, hostname): a string, or an
 * integer taken as its decimal digits; not a boolean nor a fraction.
 */
export const freeTextOrInteger = z
  .union([freeText, z.number().int()], { error: "expected a string" })
  .transform((v) => String(v));

/** Same as freeText, at least 32 bytes long (secrets). */
export const freeText32B = freeText.refine((s) => Buffer.byteLength(s, "utf8") >= 32, {
  error: "must be at least 32 bytes long",
});

/** Upstream's octet limits: 253 for a name (without its trailing dot), 63 for a label. */
const NAME_MAX = 253;
const LABEL_MAX = 63;

/**
 * Upstream's rule on the ASCII (punycode) form: the root '.', or labels of 1 to 63 characters
 * (any but the dot; '_' included, as in '_8443._https.example.com.') that neither start nor end
 * with '-', at most 253 in all, optionally ending with a dot. Checked label by label: a
 * backtracking regular expression takes exponential time on some inputs.
 */
function isDomainAscii(ascii: string): boolean {
  if (ascii === ".") return true;
  const name = ascii.endsWith(".") ? ascii.slice(0, -1) : ascii;
  if (name.length === 0 || name.length > NAME_MAX) return false;
  return name
    .split(".")
    .every((l) => l.length >= 1 && l.length <= LABEL_MAX && !l.startsWith("-") && !l.endsWith("-"));
}

/**
 * The same rule as a JSON Schema pattern, for documentation (validation uses isDomainAscii); each
 * label is bounded and labels cannot contain the dot that separates them, so it does not backtrack.
 */
const DOMAIN_PATTERN =
  "^(\\.|(?=[^\\n]{1,253}\\.?$)([^.-]|[^.-][^.]{0,61}[^.-])(\\.([^.-]|[^.-][^.]{0,61}[^.-]))*\\.?)$";

/** IDNA (punycode) form of a domain name; undefined when it has none. */
export function punycode(name: string): string | undefined {
  if (name === ".") return ".";
  const ascii = domainToASCII(name);
  return ascii !== "" && isDomainAscii(ascii) ? ascii : undefined;
}

/** Fully or partially qualified domain name, unicode allowed (kept as written). */
export const domainName = z
  .string({ error: "expected a domain name" })
  .refine((s) => punycode(s) !== undefined, {
    error: (iss) => `'${String(iss.input)}' is not a valid domain name`,
  })
  .meta({ description: "domain name", pattern: DOMAIN_PATTERN });

/** The name in absolute form (trailing dot), punycode: what kresd's todname() wants. */
export function absoluteName(name: string): string {
  const p = punycode(name) ?? name;
  return p.endsWith(".") ? p : `${p}.`;
}

// The patterns below are unambiguous (each character has one place to go), so they run in linear
// time; `npm run check` (regexp/no-super-linear-backtracking) keeps every pattern in lib/ so.

export const interfaceName = z
  .string({ error: "expected an interface name" })
  .regex(/^[a-zA-Z0-9]+(?:[-_][a-zA-Z0-9]+)*$/, { error: "expected a network interface name" });

/**
 * Upstream's IDPattern `(?!-)[a-z0-9-]*[a-z0-9]`: lowercase letters, digits and hyphens, neither
 * starting nor ending with a hyphen. Written as runs of letters and digits joined by hyphens:
 * upstream's form backtracks quadratically (20 000 characters took 334 ms).
 */
export const idPattern = z
  .string({ error: "expected an ID" })
  .regex(/^[a-z0-9]+(?:-+[a-z0-9]+)*$/, { error: "expected lowercase letters, digits and inner hyphens" });

export const pinSha256 = z
  .string({ error: "expected a pin" })
  .regex(/^[A-Za-z\d+/]{43}=$/, { error: "expected a base64-encoded SHA-256 digest (44 characters)" });
