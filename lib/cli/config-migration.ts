import { toPointer } from "../utils/json-pointer.js";
import { isPlainObject } from "../utils/parsing.js";

/**
 * Rewrites a configuration written for another Knot Resolver 6 release into the schema this
 * manager validates (that of Knot Resolver 6.0.9–6.0.16). Facts from upstream's NEWS and its
 * `kresctl migrate`:
 * - 6.0.8 split `cache/prediction` into `cache/prefetch/expiring` and `cache/prefetch/prediction`;
 * - some 6.0 releases named `network/tls/files-watchdog` `watchdog`;
 * - 6.0.17 renamed keys and turned `true|false|{...}` sections into objects with `enable`
 *   (upstream's migrate goes that way); a config written for 6.0.17 or later is mapped back here,
 *   each rule acting only on keys our schema does not have, so a current config is left as is.
 */

type Doc = Record<string, unknown>;
type Path = readonly string[];

export interface MigrationResult {
  config: Doc;
  /** What was changed, one line each ("renamed /a to /b"). */
  changes: string[];
}

/** The object holding the last key of `path`, when every step there is an object. */
function holder(doc: Doc, path: Path, create = false): Doc | undefined {
  let node: Doc = doc;
  for (const key of path.slice(0, -1)) {
    if (!isPlainObject(node[key])) {
      if (!create || node[key] !== undefined) return undefined;
      node[key] = {};
    }
    node = node[key] as Doc;
  }
  return node;
}

function has(doc: Doc, path: Path): boolean {
  const h = holder(doc, path);
  return h !== undefined && Object.hasOwn(h, path[path.length - 1] as string);
}

type Rule = (doc: Doc, log: (line: string) => void) => void;

/** `from` moves to `to` (unless `to` is already set: then both stay, for validation to report). */
function rename(from: Path, to: Path): Rule {
  return (doc, log) => {
    if (!has(doc, from) || has(doc, to)) return;
    const src = holder(doc, from) as Doc;
    const value = src[from[from.length - 1] as string];
    delete src[from[from.length - 1] as string];
    (holder(doc, to, true) as Doc)[to[to.length - 1] as string] = value;
    log(`renamed ${toPointer(from)} to ${toPointer(to)}`);
  };
}

/**
 * A section `{enable: bool, ...}` (6.0.17+) back to this schema's form: off becomes `offValue`
 * (false) or no section at all (`undefined`); on keeps the other settings.
 */
function enableFlag(section: Path, offValue: false | undefined, flag = "enable"): Rule {
  return (doc, log) => {
    const h = holder(doc, section);
    const key = section[section.length - 1] as string;
    const node = h?.[key];
    if (!h || !isPlainObject(node) || !Object.hasOwn(node, flag)) return;
    const where = toPointer([...section, flag]);
    if (node[flag] === false) {
      if (offValue === undefined) delete h[key];
      else h[key] = offValue;
      const dropped = Object.keys(node).length > 1 ? " (its other settings dropped)" : "";
      log(
        `replaced ${where}: false by ${offValue === undefined ? `no ${toPointer(section)}` : `${toPointer(section)}: false`}${dropped}`,
      );
    } else if (node[flag] === true) {
      delete node[flag];
      log(`removed ${where}: true (${toPointer(section)} being present turns it on)`);
    }
  };
}

/** 6.0.0–6.0.7 `cache/prediction: true|{window, period}` ran kresd's predict module, which also refreshes expiring records. */
const cachePrediction: Rule = (doc, log) => {
  const cache = doc.cache;
  if (!isPlainObject(cache) || !Object.hasOwn(cache, "prediction")) return;
  const old = cache.prediction;
  delete cache.prediction;
  if (old === false || old === null) {
    log("removed /cache/prediction: false (prefetching is off by default)");
    return;
  }
  const prefetch = isPlainObject(cache.prefetch) ? cache.prefetch : (cache.prefetch = {});
  prefetch.expiring ??= true;
  prefetch.prediction ??= isPlainObject(old) ? old : {};
  log("moved /cache/prediction to /cache/prefetch/prediction with /cache/prefetch/expiring: true");
};

/** 6.0.17 turned the dnstap flags off by default: an `enable`d dnstap keeps that meaning here. */
const dnstapDefaults: Rule = (doc, log) => {
  const logging = doc.logging;
  const dnstap = isPlainObject(logging) ? logging.dnstap : undefined;
  if (!isPlainObject(dnstap) || dnstap.enable !== true) return;
  for (const flag of ["log-queries", "log-responses", "log-tcp-rtt"]) {
    if (dnstap[flag] === undefined) {
      dnstap[flag] = false;
      log(`added /logging/dnstap/${flag}: false (its default since 6.0.17)`);
    }
  }
};

/** In order: keys move out of a section before the section may collapse to `false`. */
const RULES: readonly Rule[] = [
  cachePrediction,
  rename(["network", "tls", "watchdog"], ["network", "tls", "files-watchdog"]),
  rename(["dnssec", "sentinel"], ["dnssec", "trust-anchor-sentinel"]),
  rename(["dnssec", "signal-query"], ["dnssec", "trust-anchor-signal-query"]),
  rename(["dnssec", "trust-anchors-keep-removed"], ["dnssec", "keep-removed"]),
  rename(["dnssec", "log-bogus"], ["logging", "dnssec-bogus"]),
  rename(["dns64", "reverse-ttl"], ["dns64", "rev-ttl"]),
  rename(["defer", "enable"], ["defer", "enabled"]),
  rename(["monitoring", "metrics"], ["monitoring", "enabled"]),
  dnstapDefaults,
  enableFlag(["logging", "dnstap"], false),
  enableFlag(["dnssec"], false),
  enableFlag(["dns64"], false),
  enableFlag(["cache", "garbage-collector"], false),
  enableFlag(["cache", "prefetch", "prediction"], undefined),
  enableFlag(["monitoring", "graphite"], false),
  enableFlag(["network", "proxy-protocol"], false),
  enableFlag(["rate-limiting"], undefined),
];

/** Applies every rule to a copy of the configuration. */
export function migrateConfig(config: Doc): MigrationResult {
  const doc = structuredClone(config);
  const changes: string[] = [];
  for (const rule of RULES) rule(doc, (line) => changes.push(line));
  return { config: doc, changes };
}
