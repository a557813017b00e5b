import { z } from "zod";
import { float0_65535, idPattern, ipNetwork } from "../../types/index.js";
import { UNSUPPORTED } from "../../kresd56.js";

export const VIEW_PROTOCOLS = ["udp53", "tcp53", "dot", "doh", "doq"] as const;
export const VIEW_ANSWERS = ["allow", "refused", "noanswer"] as const;

const viewOptionsSchema = z
  .strictObject({
    minimize: z
      .boolean()
      .default(true)
      .meta({ description: "Send the minimum of the query name upstream (QNAME minimisation)." }),
    dns64: z
      .boolean()
      .default(true)
      .meta({ description: "Let DNS64 apply to these clients when it is enabled globally." }),
    fallback: z.boolean().default(true).meta({
      description: "Let fallback on resolution failure apply to these clients when enabled globally.",
    }),
    "price-factor": float0_65535.default(1.0).meta({
      description: "Multiplier of rate-limiting and defer prices for these clients; 0 exempts them.",
    }),
  })
  .superRefine((opts, ctx) => {
    if (opts.fallback === false) {
      ctx.addIssue({
        code: "custom",
        path: ["fallback"],
        message: `${UNSUPPORTED}: it has no fallback that a view could turn off`,
      });
    }
    if (typeof opts["price-factor"] === "number" && opts["price-factor"] !== 1) {
      ctx.addIssue({
        code: "custom",
        path: ["price-factor"],
        message: `${UNSUPPORTED}: it has no per-client price for rate limiting or defer, got ${opts["price-factor"]}`,
      });
    }
  })
  .prefault({})
  .meta({ description: "Options for the clients the view identifies." });

const viewSchema = z
  .strictObject({
    subnets: z
      .array(ipNetwork, { error: "expected a list of IP networks" })
      .meta({ description: "Client source subnets; the view with the most specific matching subnet wins." }),
    "dst-subnet": ipNetwork
      .optional()
      .meta({ description: "Additional condition: the address the query arrived on is in this subnet." }),
    protocols: z
      .array(z.enum(VIEW_PROTOCOLS, { error: `expected one of ${VIEW_PROTOCOLS.join(", ")}` }), {
        error: "expected a list of protocols",
      })
      .optional()
      .meta({ description: "Additional condition: the transport the query came over." }),
    tags: z
      .array(idPattern, { error: "expected a list of tags" })
      .optional()
      .meta({ description: "Tags that select which tagged local-data rules apply to these clients." }),
    answer: z
      .enum(VIEW_ANSWERS, { error: `expected one of ${VIEW_ANSWERS.join(", ")}` })
      .optional()
      .meta({ description: "How to handle these clients: resolve (allow), refuse, or drop the query." }),
    options: viewOptionsSchema,
  })
  .superRefine((view, ctx) => {
    const hasTags = Array.isArray(view.tags) && view.tags.length > 0;
    const hasAnswer = typeof view.answer === "string";
    if (hasTags === hasAnswer) {
      ctx.addIssue({ code: "custom", message: "exactly one of 'tags' and 'answer' must be configured" });
    }
  })
  .meta({ description: "A view: conditions on the client and what to do with its queries." });

export const viewsSchema = z
  .array(viewSchema, { error: "expected a list of views" })
  .optional()
  .meta({ description: "Views: per-client access control and selection of tagged local data." });
export type ViewsConfig = z.output<typeof viewsSchema>;
export type ViewConfig = z.output<typeof viewSchema>;

/** The tags the views assign, in order of first appearance. */
export function viewTags(views: ViewsConfig): string[] {
  const tags: string[] = [];
  for (const view of Array.isArray(views) ? views : []) {
    for (const t of Array.isArray(view?.tags) ? view.tags : []) if (!tags.includes(t)) tags.push(t);
  }
  return tags;
}
