import { ipBytes } from "../../datamodel/types/index.js";
import type { Findings } from "./findings.js";
import type { RecordedEvent } from "./run.js";

/**
 * kresd 5's policy rules and views as the 6.4 dialect holds them: forward rules, local-data
 * subtrees and RPZ, and views. kresd 5 tries its rules in order and the first that matches decides;
 * the 6.4 dialect has no order: local data answers before forwarding, and the most specific forward
 * subtree (or view subnet) wins. A rule is translated only where both give the same answers; a rule
 * that a rule before it always pre-empts is dead (left out, and said so); anything else is reported.
 */

export interface PolicyAction {
  kind: "action";
  name: string;
  targets?: unknown[];
  message?: string;
  ede?: unknown;
}

export interface PolicyFilter {
  kind: "filter";
  filter: string;
  action?: PolicyAction;
  names?: string[];
  pattern?: string;
  file?: string;
  watch?: unknown;
}

export type ForwardServer = string | Record<string, unknown>;

export interface ForwardRule {
  subtree: string[];
  servers: ForwardServer[];
  options?: { authoritative: boolean; dnssec: boolean };
}

export interface LocalRule {
  name: string[];
  subtree: "nxdomain";
  tags?: string[];
}

export interface View {
  subnets: string[];
  answer?: "allow" | "refused" | "noanswer";
  tags?: string[];
}

export interface PolicyResult {
  forward: ForwardRule[];
  rules: LocalRule[];
  rpz: { file: string; watchdog?: boolean }[];
  views: View[];
  /** Subtrees kresd 5 blocks at its policy stage, before any local data (hints) is looked at. */
  blocked: { name: string; line: number | undefined }[];
}

/** Actions after which kresd 5 tries no further rule. */
const FINAL = new Set([
  "FORWARD",
  "TLS_FORWARD",
  "STUB",
  "DENY",
  "DENY_MSG",
  "REFUSE",
  "DROP",
  "NO_ANSWER",
  "PASS",
  "TC",
  "ANSWER",
  "function",
]);

const where = (line: number | undefined): string => (line === undefined ? "?" : `line ${line}`);

export function atOrBelow(name: string, parent: string): boolean {
  return name === parent || parent === "." || name.endsWith(`.${parent}`);
}

/** What an earlier final rule claims: every name, subtrees, or exact names. */
interface Claim {
  line: number | undefined;
  all: boolean;
  suffixes: string[];
  domains: string[];
  outcome: "forward" | "block" | "pass" | "other";
}

function coveredBy(name: string, claims: readonly Claim[]): Claim | undefined {
  return claims.find((c) => c.all || c.suffixes.some((s) => atOrBelow(name, s)));
}

function describe(a: PolicyAction | undefined): string {
  return a ? (a.name === "function" ? "a Lua function" : `policy.${a.name}`) : "an unknown action";
}

function describeFilter(f: PolicyFilter): string {
  if (f.filter === "function") return "a rule written as a Lua function";
  return `policy.${f.filter}(${describe(f.action)}${f.names ? `, {${f.names.join(", ")}}` : ""}${
    f.pattern !== undefined ? `, ${JSON.stringify(f.pattern)}` : ""
  }${f.file !== undefined ? `, '${f.file}'` : ""})`;
}

/** 'addr', 'addr@port' or 'addr#port' as 'addr' or 'addr@port'. */
function server(target: string): string {
  const m = /^(.*)[@#](\d+)$/.exec(target);
  return m ? `${m[1]}@${m[2]}` : target;
}

function portOf(target: string): number | undefined {
  const m = /[@#](\d+)$/.exec(target);
  return m ? Number(m[1]) : undefined;
}

/** The forward servers of a FORWARD/TLS_FORWARD/STUB action, or why they cannot be written. */
function forwardOf(a: PolicyAction): { rule: Omit<ForwardRule, "subtree"> } | { why: string } {
  const targets = a.targets ?? [];
  if (a.name === "FORWARD") return { rule: { servers: targets.map((t) => server(String(t))) } };
  if (a.name === "STUB") {
    const odd = targets.find((t) => (portOf(String(t)) ?? 53) !== 53);
    if (odd !== undefined)
      return {
        why: `STUB to '${String(odd)}': the 6.4 dialect stubs (authoritative forwarding) to port 53 only`,
      };
    return {
      rule: {
        servers: targets.map((t) => server(String(t))),
        options: { authoritative: true, dnssec: false },
      },
    };
  }
  // TLS_FORWARD
  const servers: ForwardServer[] = [];
  for (const raw of targets) {
    const t = raw as {
      address: string;
      hostname?: string;
      ca_file?: unknown;
      pins?: string[];
      insecure?: boolean;
    };
    if (t.insecure)
      return {
        why: `TLS_FORWARD to '${t.address}' with insecure = true: the 6.4 dialect always authenticates TLS servers`,
      };
    const s: Record<string, unknown> = { address: server(t.address), transport: "tls" };
    if (t.pins && t.pins.length > 0) s["pin-sha256"] = t.pins.length === 1 ? t.pins[0] : t.pins;
    if (t.hostname !== undefined) s.hostname = t.hostname;
    if (t.ca_file !== undefined) {
      const files = Array.isArray(t.ca_file) ? t.ca_file : [t.ca_file];
      if (files.length !== 1)
        return {
          why: `TLS_FORWARD to '${t.address}' names ${files.length} CA files; the 6.4 dialect takes one`,
        };
      s["ca-file"] = files[0];
    }
    if (s.hostname === undefined && s["pin-sha256"] === undefined)
      return {
        why: `TLS_FORWARD to '${t.address}' without hostname or pin_sha256: kresd 5 then checks nothing it can be told, the 6.4 dialect requires one`,
      };
    servers.push(s);
  }
  return { rule: { servers } };
}

// ---------------------------------------------------------------------------------------------
// subnets

interface Subnet {
  text: string;
  bytes: Uint8Array;
  prefix: number;
}

function parseSubnet(s: string): Subnet | undefined {
  const [addr, len] = s.split("/");
  const bytes = addr === undefined ? undefined : ipBytes(addr);
  if (!bytes) return undefined;
  const prefix = len === undefined ? bytes.length * 8 : Number(len);
  const masked = Uint8Array.from(bytes, (b, i) => {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    return b & ((0xff << (8 - keep)) & 0xff);
  });
  const text =
    masked.length === 4
      ? Array.from(masked).join(".")
      : Array.from({ length: 8 }, (_, i) =>
          (((masked[2 * i] as number) << 8) | (masked[2 * i + 1] as number)).toString(16),
        ).join(":");
  // As written when it has no host bits (kresd ignores them; the 6.4 dialect refuses them).
  const exact = masked.every((b, i) => b === bytes[i]);
  return { text: `${exact ? addr : text}/${prefix}`, bytes: masked, prefix };
}

/** Whether subnet `inner` lies within `outer`. */
function within(inner: Subnet, outer: Subnet): boolean {
  if (inner.bytes.length !== outer.bytes.length || inner.prefix < outer.prefix) return false;
  for (let bit = 0; bit < outer.prefix; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (((inner.bytes[bit >> 3] as number) & mask) !== ((outer.bytes[bit >> 3] as number) & mask))
      return false;
  }
  return true;
}

const VIEW_ANSWER: Record<string, View["answer"]> = {
  PASS: "allow",
  REFUSE: "refused",
  DROP: "noanswer",
  NO_ANSWER: "noanswer",
};

// ---------------------------------------------------------------------------------------------

/**
 * `policies`: the recorded `policy.add` events in order; `views`: the `view:addr` events;
 * `viewFirst`: the view module runs before policy ('view < policy').
 */
export function translatePolicy(
  policies: readonly RecordedEvent[],
  viewEvents: readonly RecordedEvent[],
  viewFirst: boolean,
  findings: Findings,
): PolicyResult {
  const out: PolicyResult = { forward: [], rules: [], rpz: [], views: [], blocked: [] };
  const claims: Claim[] = [];
  // Translated rules, to check later rules against (a later block above an earlier forward…).
  const forwards: { name: string; line: number | undefined }[] = [];
  const passes: { name: string; line: number | undefined; ev: RecordedEvent }[] = [];

  for (const ev of policies) {
    const f = ev.rule as PolicyFilter;
    const a = f.action;
    const final = a !== undefined && FINAL.has(a.name);
    if (ev.postrule) {
      findings.untranslated(
        ev,
        `${describeFilter(f)} as a postrule: the 6.4 dialect has no rules applied after resolution`,
      );
      continue;
    }
    const claim = (c: Omit<Claim, "line" | "outcome">, outcome: Claim["outcome"]) => {
      if (final) claims.push({ ...c, line: ev.line, outcome });
    };

    // Names this rule is about, less those an earlier rule already decides.
    const live = (names: string[]): string[] =>
      names.filter((n) => {
        const by = coveredBy(n, claims);
        if (by) {
          findings.note(
            ev,
            `${describeFilter(f)}: never applies to '${n}': the rule at ${where(by.line)} matches it first in kresd 5 (a dead rule, left out)`,
          );
        }
        return !by;
      });

    if (f.filter === "all" || f.filter === "suffix") {
      const all = f.filter === "all";
      const names = live(all ? ["."] : (f.names ?? []));
      const outcome = (o: Claim["outcome"]) =>
        claim(
          all ? { all: true, suffixes: [], domains: [] } : { all: false, suffixes: names, domains: [] },
          o,
        );
      if (names.length === 0) {
        // every name dead (said above), or an empty list: a rule that matches nothing
        continue;
      }
      if (a && (a.name === "FORWARD" || a.name === "TLS_FORWARD" || a.name === "STUB")) {
        const fw = forwardOf(a);
        if ("why" in fw) {
          findings.untranslated(ev, fw.why);
        } else {
          out.forward.push({ subtree: names, ...fw.rule });
          names.forEach((name) => forwards.push({ name, line: ev.line }));
          for (const p of passes) {
            const above = names.find((n) => atOrBelow(p.name, n));
            if (above)
              findings.untranslated(
                p.ev,
                `policy.PASS for '${p.name}': the 6.4 dialect cannot exempt it from the forward rule for '${above}' (${where(ev.line)}); the YAML forwards it`,
              );
          }
          findings.translated(ev);
        }
        outcome("forward");
        continue;
      }
      if (a && a.name === "DENY" && !all) {
        if (a.ede !== undefined) {
          findings.untranslated(
            ev,
            `${describeFilter(f)} with an extended error code: the 6.4 dialect answers with its own`,
          );
          outcome("block");
          continue;
        }
        // A block above a subtree an earlier rule forwards would hide that subtree in the 6.4
        // dialect, where local data comes before forwarding.
        const hidden = names.flatMap((n) =>
          [...forwards, ...passes]
            .filter((fw) => fw.name !== n && atOrBelow(fw.name, n))
            .map((fw) => ({ n, fw })),
        );
        if (hidden.length > 0) {
          const { n, fw } = hidden[0] as (typeof hidden)[number];
          findings.untranslated(
            ev,
            `${describeFilter(f)}: blocking '${n}' would also block '${fw.name}', which the rule at ${where(fw.line)} resolves first in kresd 5; the 6.4 dialect has no order between them`,
          );
          outcome("block");
          continue;
        }
        out.rules.push({ name: names, subtree: "nxdomain" });
        names.forEach((name) => out.blocked.push({ name, line: ev.line }));
        findings.translated(ev);
        outcome("block");
        continue;
      }
      if (a && a.name === "PASS" && !all) {
        // Resolved as usual: nothing to write, unless a later rule above it would apply (checked there).
        names.forEach((name) => passes.push({ name, line: ev.line, ev }));
        findings.translated(ev);
        outcome("pass");
        continue;
      }
      findings.untranslated(ev, untranslatableAction(f, a));
      outcome("other");
      continue;
    }

    if (f.filter === "rpz") {
      const by = claims.find((c) => c.all);
      if (by) {
        findings.note(
          ev,
          `${describeFilter(f)}: never applies: the catch-all rule at ${where(by.line)} matches every name first (a dead rule, left out)`,
        );
        continue;
      }
      if (!a || a.name !== "DENY" || a.ede !== undefined) {
        findings.untranslated(
          ev,
          `${describeFilter(f)}: the 6.4 dialect's RPZ answers 'CNAME .' with NXDOMAIN, as policy.DENY only`,
        );
        continue;
      }
      const before = claims.filter((c) => c.suffixes.length > 0 || c.domains.length > 0);
      if (before.length > 0) {
        findings.untranslated(
          ev,
          `${describeFilter(f)} after the rule at ${where(before[0]?.line)}: kresd 5 never applies the zone's entries that rule matches first, the 6.4 dialect applies them all (the file's contents are not read here)`,
        );
        continue;
      }
      out.rpz.push({
        file: f.file as string,
        ...(typeof f.watch === "boolean" ? { watchdog: f.watch } : {}),
      });
      findings.translated(ev);
      continue;
    }

    if (f.filter === "domains" && final) {
      findings.untranslated(
        ev,
        `${describeFilter(f)}: the 6.4 dialect's rules cover whole subtrees, not exact names only`,
      );
      claims.push({ line: ev.line, all: false, suffixes: [], domains: f.names ?? [], outcome: "other" });
      continue;
    }
    findings.untranslated(
      ev,
      `${describeFilter(f)}: ${f.filter === "pattern" ? "Lua patterns over names have no equivalent in the 6.4 dialect" : "not expressible in the 6.4 dialect"}`,
    );
  }

  out.views = translateViews(viewEvents, findings, out);
  if (
    !viewFirst &&
    out.views.some((v) => v.answer === "refused" || v.answer === "noanswer") &&
    out.blocked.length > 0
  ) {
    const first = viewEvents[0];
    if (first)
      findings.note(
        first,
        "the view module runs after policy in kresd 5 (loaded without 'view < policy'): there, refused clients still get NXDOMAIN for blocked names; the YAML refuses them those too",
      );
  }
  return out;
}

function untranslatableAction(f: PolicyFilter, a: PolicyAction | undefined): string {
  const name = a?.name;
  if (name === "DENY" && f.filter === "all")
    return `${describeFilter(f)}: blocking every name is not a 6.4 local-data rule (special-use names behave differently)`;
  if (name === "DENY_MSG")
    return `${describeFilter(f)}: the 6.4 dialect blocks with NXDOMAIN but cannot add the message '${a?.message ?? ""}'`;
  if (name === "REFUSE" || name === "DROP" || name === "NO_ANSWER")
    return `${describeFilter(f)}: the 6.4 dialect refuses or drops by client (views), not by name`;
  if (name === "PASS")
    return `${describeFilter(f)}: the 6.4 dialect has no rule that stops later ones for every name`;
  return `${describeFilter(f)}: ${describe(a)} has no equivalent in the 6.4 dialect`;
}

function translateViews(events: readonly RecordedEvent[], findings: Findings, out: PolicyResult): View[] {
  interface Entry {
    ev: RecordedEvent;
    subnet: Subnet;
    view: View;
    final: boolean;
  }
  const entries: Entry[] = [];
  let tagCount = 0;
  for (const ev of events) {
    const f = ev.rule as PolicyFilter;
    const subnet = parseSubnet(String(ev.subnet));
    if (!subnet) {
      findings.untranslated(ev, `view:addr('${String(ev.subnet)}'): not a subnet the 6.4 dialect takes`);
      continue;
    }
    if (ev.dst) {
      findings.untranslated(
        ev,
        `view:addr('${String(ev.subnet)}', …, true): views by destination address alone are not in the 6.4 dialect`,
      );
      continue;
    }
    const dead = entries.find((e) => e.final && within(subnet, e.subnet));
    if (dead) {
      findings.note(
        ev,
        `view:addr('${String(ev.subnet)}'): never applies: the view at ${where(dead.ev.line)} ('${dead.subnet.text}') takes these clients first in kresd 5 (a dead rule, left out)`,
      );
      continue;
    }
    const answer = f.filter === "all" && f.action ? VIEW_ANSWER[f.action.name] : undefined;
    if (answer) {
      entries.push({ ev, subnet, view: { subnets: [subnet.text], answer }, final: true });
      continue;
    }
    if (f.filter === "suffix" && f.action?.name === "DENY" && f.action.ede === undefined && f.names) {
      const tag = `view${++tagCount}`;
      entries.push({ ev, subnet, view: { subnets: [subnet.text], tags: [tag] }, final: false });
      out.rules.push({ name: f.names, subtree: "nxdomain", tags: [tag] });
      continue;
    }
    findings.untranslated(
      ev,
      `view:addr('${String(ev.subnet)}', ${describeFilter(f)}): not expressible as a 6.4 view`,
    );
  }
  // A client has one view in the 6.4 dialect (the most specific subnet); in kresd 5 a view that
  // only blocks some names lets the next matching view decide for the rest.
  const kept: View[] = [];
  for (const e of entries) {
    if (e.view.tags) {
      const other = entries.find(
        (o) => o !== e && (within(o.subnet, e.subnet) || within(e.subnet, o.subnet)),
      );
      if (other) {
        findings.untranslated(
          e.ev,
          `view:addr('${e.subnet.text}') blocks some names and overlaps the view at ${where(other.ev.line)} ('${other.subnet.text}'): in the 6.4 dialect a client gets one view only`,
        );
        out.rules = out.rules.filter((r) => r.tags?.[0] !== e.view.tags?.[0]);
        continue;
      }
    }
    findings.translated(e.ev);
    kept.push(e.view);
  }
  return kept;
}
