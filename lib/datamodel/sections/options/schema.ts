import { z } from "zod";

export const optionsSchema = z
  .strictObject({
    "glue-checking": z
      .enum(["normal", "strict", "permissive"], { error: "expected 'normal', 'strict' or 'permissive'" })
      .default("normal")
      .meta({ description: "How strictly glue records in referrals are checked." }),
    minimize: z
      .boolean()
      .default(true)
      .meta({ description: "QNAME minimisation: send upstream servers only the labels they need." }),
    "query-loopback": z
      .boolean()
      .default(false)
      .meta({ description: "Allow sending queries to loopback addresses." }),
    "reorder-rrset": z
      .boolean()
      .default(true)
      .meta({ description: "Rotate the records of an RRset each time it is answered from the cache." }),
    "query-case-randomization": z
      .boolean()
      .default(true)
      .meta({ description: "Randomize the letter case of query names sent upstream (0x20 encoding)." }),
    priming: z
      .boolean()
      .default(true)
      .meta({ description: "Refresh the root name servers with priming queries (RFC 8109)." }),
    "rebinding-protection": z
      .boolean()
      .default(false)
      .meta({ description: "Drop answers pointing public names to private addresses (DNS rebinding)." }),
    "refuse-no-rd": z
      .boolean()
      .default(true)
      .meta({ description: "Answer queries without the RD (recursion desired) bit with REFUSED." }),
    "time-jump-detection": z.boolean().default(true).meta({
      description: "Detect a system clock jump against the root NS signatures and flush the cache.",
    }),
    "violators-workarounds": z
      .boolean()
      .default(false)
      .meta({ description: "Work around known DNS protocol violators." }),
    "serve-stale": z
      .boolean()
      .default(false)
      .meta({ description: "Answer with expired records when upstream servers cannot be reached." }),
  })
  .prefault({})
  .meta({ description: "Fine-tuning of how the resolver resolves." });

export type OptionsConfig = z.output<typeof optionsSchema>;
