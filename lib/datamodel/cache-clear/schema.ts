/**
 * The body of `POST /cache/clear` (upstream's CacheClearRPCSchema: same keys, defaults and checks)
 * and what kresd answers; render.ts turns a request into the Lua that runs it.
 */
import { z } from "zod";
import { isPlainObject } from "../../utils/parsing.js";
import { InvalidCacheClearRequest, problemsFromIssues } from "../errors.js";
import { domainName, intPositive } from "../types/index.js";

/**
 * Every RR type mnemonic kresd 5.6 knows, with its number: its `kres.type` table
 * (/usr/lib/x86_64-linux-gnu/knot-resolver/kres.lua), which is also upstream's DNSRecordTypeEnum.
 * The Lua gets the number, so a mnemonic kresd would not know can never turn into `nil`, which
 * cache.clear() reads as "every type".
 */
export const RR_TYPES = {
  A: 1,
  NS: 2,
  MD: 3,
  MF: 4,
  CNAME: 5,
  SOA: 6,
  MB: 7,
  MG: 8,
  MR: 9,
  NULL: 10,
  WKS: 11,
  PTR: 12,
  HINFO: 13,
  MINFO: 14,
  MX: 15,
  TXT: 16,
  RP: 17,
  AFSDB: 18,
  X25: 19,
  ISDN: 20,
  RT: 21,
  NSAP: 22,
  "NSAP-PTR": 23,
  SIG: 24,
  KEY: 25,
  PX: 26,
  GPOS: 27,
  AAAA: 28,
  LOC: 29,
  NXT: 30,
  EID: 31,
  NIMLOC: 32,
  SRV: 33,
  ATMA: 34,
  NAPTR: 35,
  KX: 36,
  CERT: 37,
  A6: 38,
  DNAME: 39,
  SINK: 40,
  OPT: 41,
  APL: 42,
  DS: 43,
  SSHFP: 44,
  IPSECKEY: 45,
  RRSIG: 46,
  NSEC: 47,
  DNSKEY: 48,
  DHCID: 49,
  NSEC3: 50,
  NSEC3PARAM: 51,
  TLSA: 52,
  SMIMEA: 53,
  HIP: 55,
  NINFO: 56,
  RKEY: 57,
  TALINK: 58,
  CDS: 59,
  CDNSKEY: 60,
  OPENPGPKEY: 61,
  CSYNC: 62,
  ZONEMD: 63,
  SVCB: 64,
  HTTPS: 65,
  SPF: 99,
  UINFO: 100,
  UID: 101,
  GID: 102,
  UNSPEC: 103,
  NID: 104,
  L32: 105,
  L64: 106,
  LP: 107,
  EUI48: 108,
  EUI64: 109,
  TKEY: 249,
  TSIG: 250,
  IXFR: 251,
  AXFR: 252,
  MAILB: 253,
  MAILA: 254,
  ANY: 255,
  URI: 256,
  CAA: 257,
  AVC: 258,
  DOA: 259,
  TA: 32768,
  DLV: 32769,
} as const;

export type RrType = keyof typeof RR_TYPES;

const RR_TYPE_NAMES = Object.keys(RR_TYPES) as [RrType, ...RrType[]];

/**
 * Largest chunk kresd 5.6 survives with room to spare: kr_cache_remove_subtree() keeps the chunk's
 * keys in an array on the stack (48 bytes each), so ~175 000 already overflows an 8 MiB stack and
 * kills the worker with SIGSEGV. Upstream sets no limit; 10 000 stays under 0.5 MiB.
 */
export const CHUNK_SIZE_MAX = 10_000;

const rrType = z
  .enum(RR_TYPE_NAMES, {
    error: (iss) => {
      if (typeof iss.input !== "string") return "expected an RR type mnemonic (a string such as 'AAAA')";
      const upper = iss.input.toUpperCase();
      const hint = upper in RR_TYPES ? `; did you mean '${upper}'?` : " (e.g. A, AAAA, MX, TXT)";
      return `'${iss.input}' is not an RR type kresd knows${hint}`;
    },
  })
  .meta({ description: "RR type mnemonic as kresd knows it (kres.type), in upper case." });

/**
 * A known member that is null is taken as absent (its default): upstream's kresctl sends every
 * member, the ones not given as null (`{"name": null, "rr-type": null, …}`). An unknown key stays,
 * to be refused, null or not.
 */
function withoutNulls(body: unknown): unknown {
  if (!isPlainObject(body)) return body;
  return Object.fromEntries(
    Object.entries(body).filter(([k, v]) => !(v === null && Object.hasOwn(cacheClearObject.shape, k))),
  );
}

const cacheClearObject = z
  .strictObject(
    {
      name: domainName.optional().meta({
        description:
          "Subtree (or, with 'exact-name', the one name) to clear; without it the whole cache is cleared.",
      }),
      "exact-name": z
        .boolean({ error: "expected a boolean" })
        .default(false)
        .meta({ description: "Clear only records of 'name' itself, not its subtree." }),
      "rr-type": rrType.optional().meta({
        description: "Clear only this record type of 'name'; needs 'exact-name: true'.",
      }),
      "chunk-size": intPositive
        .max(CHUNK_SIZE_MAX, { error: `must be at most ${CHUNK_SIZE_MAX}` })
        .default(100)
        .meta({
          description:
            "Records removed per round (the worker goes on by itself, 1 ms later, until all are gone); " +
            "not used with 'rr-type'.",
        }),
    },
    { error: "expected an object with any of name, exact-name, rr-type, chunk-size" },
  )
  .superRefine((req, ctx) => {
    if (req["rr-type"] !== undefined && !req["exact-name"]) {
      // Upstream's own check: kresd removes one RR set of one name, never a type in a subtree.
      ctx.addIssue({
        code: "custom",
        path: ["rr-type"],
        message: "'rr-type' is only supported with 'exact-name: true'",
      });
    }
    if (req.name === undefined && (req["exact-name"] || req["rr-type"] !== undefined)) {
      // kresd clears the whole cache when no name is given, whatever else is: refuse the request
      // rather than wipe everything when the caller plainly meant one name (upstream lets it through).
      ctx.addIssue({
        code: "custom",
        path: ["name"],
        message: `a name is required with ${req["rr-type"] !== undefined ? "'rr-type'" : "'exact-name: true'"}`,
      });
    }
  });

export const cacheClearSchema = z
  .preprocess(withoutNulls, cacheClearObject)
  .meta({ description: "Request body of POST /cache/clear; a member that is null is absent." });

export type CacheClearRequest = z.output<typeof cacheClearSchema>;

/** The request with defaults filled in; undefined (no body) means all defaults: clear everything. */
export function parseCacheClearRequest(body: unknown): CacheClearRequest {
  const result = cacheClearSchema.safeParse(body === undefined ? {} : body);
  if (!result.success) throw new InvalidCacheClearRequest(problemsFromIssues(result.error.issues));
  return result.data;
}

/**
 * What kresd 5.6's cache.clear() returns: how many records the first round removed, and notes.
 * The whole cache: just `count`. A name: `round` (1) too, `chunk_limit` when the round hit the
 * chunk size (the worker then continues by itself), `not_apex` and `subtree` when the name is below
 * the closest zone apex in the cache. An RR type: `count` is always 1.
 */
export const cacheClearResultSchema = z.looseObject({
  count: z.number().int(),
  round: z.number().int().optional(),
  chunk_limit: z.string().optional(),
  not_apex: z.string().optional(),
  subtree: z.string().optional(),
});

export type CacheClearResult = z.output<typeof cacheClearResultSchema>;
