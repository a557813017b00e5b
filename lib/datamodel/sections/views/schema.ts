import { z } from "zod";
import type { KresConfig } from "../../config.js";
import { floatNonNegative, idPattern, ipNetwork } from "../../types/index.js";

const UNSUPPORTED = "not supported by kresd 5.6";

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
    "price-factor": floatNonNegative.default(1.0).meta({
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

interface TagIssueSink {
  addIssue(issue: { code: "custom"; path: (string | number)[]; message: string }): void;
}

/**
 * Upstream's cross-section tag check: every tag of a local-data rule or RPZ must be assigned by
 * some view, and view tags no rule uses are reported at /views (upstream reports them only when
 * more than one is unused, so a config upstream accepts is accepted here too).
 */
export function checkTags(cfg: Pick<KresConfig, "views" | "local-data">, ctx: TagIssueSink): void {
  const known = viewTags(cfg.views);
  const used = new Set<string>();
  const check = (section: "rules" | "rpz", items: readonly { tags?: string[] | undefined }[] | undefined) => {
    (Array.isArray(items) ? items : []).forEach((item, i) => {
      const missing: string[] = [];
      for (const tag of Array.isArray(item?.tags) ? item.tags : []) {
        used.add(tag);
        if (!known.includes(tag) && !missing.includes(tag)) missing.push(tag);
      }
      if (missing.length > 0) {
        ctx.addIssue({
          code: "custom",
          path: ["local-data", section, i, "tags"],
          message: `tags ${missing.map((t) => `'${t}'`).join(", ")} not found in the tags of /views`,
        });
      }
    });
  };
  check("rules", cfg["local-data"].rules);
  check("rpz", cfg["local-data"].rpz);
  const unused = known.filter((t) => !used.has(t));
  if (unused.length > 1) {
    ctx.addIssue({
      code: "custom",
      path: ["views"],
      message: `unused tags ${unused.map((t) => `'${t}'`).join(", ")}: no /local-data rule or RPZ uses them`,
    });
  }
}
