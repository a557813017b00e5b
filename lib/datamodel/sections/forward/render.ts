import type { KresConfig } from "../../config.js";
import { forwardTargets, labelCount, type ForwardRuleConfig, type ForwardTarget } from "./schema.js";
import { absoluteName } from "../../types/index.js";
import { luaStr, luaStrList } from "../../../utils/lua-literal.js";

/** One target in kresd 5.6 TLS_FORWARD form: {'addr@port', hostname=…, ca_file=…, pin_sha256={…}}. */
function tlsTarget(t: ForwardTarget): string {
  const fields = [luaStr(`${t.addr}@${t.port}`)];
  if (t.hostname !== undefined) fields.push(`hostname = ${luaStr(t.hostname)}`);
  if (t.caFile !== undefined) fields.push(`ca_file = ${luaStr(t.caFile)}`);
  if (t.pins !== undefined) fields.push(`pin_sha256 = ${luaStrList(t.pins)}`);
  return `{${fields.join(", ")}}`;
}

/**
 * The kresd 5.6 policy action for a rule: STUB for authoritative servers (no DNSSEC
 * validation; validation refuses authoritative + dnssec), FORWARD or TLS_FORWARD otherwise.
 */
export function forwardAction(rule: ForwardRuleConfig): string {
  const targets = forwardTargets(rule.servers);
  if (targets.some((t) => t.tls)) return `policy.TLS_FORWARD({${targets.map(tlsTarget).join(", ")}})`;
  const list = luaStrList(targets.map((t) => `${t.addr}@${t.port}`));
  return rule.options.authoritative ? `policy.STUB(${list})` : `policy.FORWARD(${list})`;
}

/**
 * The `forward` section as kresd 5.6 policy rules. Upstream picks the rule with the longest
 * matching subtree; kresd 5.6 takes the first matching rule, so rules are emitted one per
 * subtree, most specific (most labels) first. Subtrees forwarded with `dnssec: false` become
 * negative trust anchors, set together with the dnssec section's (see lua/dnssec.ts).
 */
export function renderForward(cfg: KresConfig): string {
  const rules = cfg.forward ?? [];
  const entries = rules.flatMap((rule, i) =>
    rule.subtree.map((name) => ({ name: absoluteName(name), rule, i, labels: labelCount(name) })),
  );
  entries.sort((a, b) => b.labels - a.labels || a.i - b.i);
  return entries
    .map(({ name, rule, i }) => {
      const action = forwardAction(rule);
      const comment = `-- /forward/${i}`;
      const match =
        name === "."
          ? `policy.all(${action})`
          : `policy.suffix(${action}, policy.todnames({${luaStr(name)}}))`;
      return `${comment}\npolicy.add(${match})`;
    })
    .join("\n");
}
