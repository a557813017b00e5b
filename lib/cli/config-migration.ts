import { toPointer } from "../utils/json-pointer.js";
import { isPlainObject } from "../utils/parsing.js";

/**
 * Rewrites a configuration written for Knot Resolver 6.0.x into the shape of 6.0.17 and later
 * (6.4), by the rules of upstream's `kresctl migrate` (v6.4.2) and its NEWS for 6.0.17:
 * removed keys go, renamed keys move, `true|false|{...}` sections become objects with `enable`.
 *
 * Where upstream's rules would change what a configuration means, the meaning wins:
 * - a renamed key whose value is `false` or 0 moves like any other (upstream drops it, so e.g.
 *   `trust-anchor-sentinel: false` would silently turn the sentinel back on);
 * - `logging/dnstap: false` and `network/proxy-protocol: false` become `{enable: false}`
 *   (upstream tests them against null only, and turns them on);
 * - a 6.0 dnstap section keeps its 6.0 defaults (log-queries, log-responses, log-tcp-rtt: true),
 *   which 6.0.17 turned to false;
 * - `dnssec: true` becomes `{enable: true}`, `rate-limiting: null` no section;
 * - an `enable` already there is kept, so migrating twice changes nothing the second time.
 * Also the 6.0.0–6.0.7 `cache/prediction` (upstream's rules start at 6.0.8's cache/prefetch).
 */

type Doc = Record<string, unknown>;
type Path = readonly string[];

export interface MigrationResult {
  config: Doc;
  /** What was changed, one line each ("renamed /a to /b"). */
  changes: string[];
}

type Log = (line: string) => void;
type Rule = (doc: Doc, log: Log) => void;

/** The object holding the last key of `path`, when every step there is an object (created if `create`). */
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

const last = (path: Path) => path[path.length - 1] as string;

function has(doc: Doc, path: Path): boolean {
  const h = holder(doc, path);
  return h !== undefined && Object.hasOwn(h, last(path));
}

/** A key 6.0.17 removed: dropped. */
function remove(path: Path): Rule {
  return (doc, log) => {
    if (!has(doc, path)) return;
    delete (holder(doc, path) as Doc)[last(path)];
    log(`removed ${toPointer(path)} (no longer in the configuration since 6.0.17)`);
  };
}

/** `from` moves to `to`; when `to` is set too, both stay, for validation to report. */
function rename(from: Path, to: Path): Rule {
  return (doc, log) => {
    if (!has(doc, from)) return;
    if (has(doc, to) || holder(doc, to, true) === undefined) {
      log(`kept ${toPointer(from)}: ${toPointer(to)}, its new name, cannot take its value`);
      return;
    }
    const src = holder(doc, from) as Doc;
    const value = src[last(from)];
    delete src[last(from)];
    (holder(doc, to, true) as Doc)[last(to)] = value;
    log(`renamed ${toPointer(from)} to ${toPointer(to)}`);
  };
}

interface EnableOptions {
  /** Values that meant "off" (default false and null). */
  off?: readonly unknown[];
  /** Whether a 6.0 object gets an explicit `enable: true` (upstream adds none to dnssec). */
  addToObject?: boolean;
}

/**
 * A section that was `false | true | null | {...}` becomes `{enable: ...}`: false/null are off,
 * true and an object on, an object keeping its settings (`enable` last, as upstream writes it).
 * Returns whether an object without `enable` (the 6.0 shape) was found.
 */
function toEnable(doc: Doc, section: Path, log: Log, opts: EnableOptions = {}): boolean {
  const { off = [false, null], addToObject = true } = opts;
  const h = holder(doc, section);
  const key = last(section);
  if (!h || !Object.hasOwn(h, key)) return false;
  const value = h[key];
  const where = toPointer(section);
  if (isPlainObject(value)) {
    if (Object.hasOwn(value, "enable")) return false;
    if (addToObject) {
      value.enable = true;
      log(`added ${where}/enable: true (the section being there turned it on)`);
    }
    return true;
  }
  if (value === true || off.includes(value)) {
    h[key] = { enable: value === true };
    log(`replaced ${where}: ${JSON.stringify(value)} by ${where}/enable: ${value === true}`);
  }
  return false;
}

function enableRule(section: Path, opts?: EnableOptions): Rule {
  return (doc, log) => void toEnable(doc, section, log, opts);
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
  prefetch.prediction ??= { ...(isPlainObject(old) ? old : {}), enable: true };
  log("moved /cache/prediction to /cache/prefetch/prediction with /cache/prefetch/expiring: true");
};

/** 6.0.17 turned the dnstap flags off by default: a 6.0 dnstap section keeps them on. */
const dnstap: Rule = (doc, log) => {
  if (!toEnable(doc, ["logging", "dnstap"], log)) return;
  const section = (doc.logging as Doc).dnstap as Doc;
  for (const flag of ["log-queries", "log-responses", "log-tcp-rtt"]) {
    if (section[flag] !== undefined) continue;
    section[flag] = true;
    log(`added /logging/dnstap/${flag}: true (its default before 6.0.17, false since)`);
  }
};

/**
 * Upstream drops the top-level sections left empty at the end (any falsy value, in fact: a wrong
 * `workers: 0` too, which is left here for validation to report).
 */
const dropEmpty: Rule = (doc, log) => {
  for (const [key, value] of Object.entries(doc)) {
    const empty =
      value === null ||
      (Array.isArray(value) && value.length === 0) ||
      (isPlainObject(value) && Object.keys(value).length === 0);
    if (!empty) continue;
    delete doc[key];
    log(`removed ${toPointer([key])}: left empty`);
  }
};

/** In upstream's order: removals, then each section's renames and `enable`, then empty sections. */
const RULES: readonly Rule[] = [
  remove(["dnssec", "refresh-time"]),
  remove(["dnssec", "hold-down-time"]),
  remove(["dnssec", "time-skew-detection"]),
  remove(["dnssec", "keep-removed"]),
  remove(["local-data", "root-fallback-addresses"]),
  remove(["local-data", "root-fallback-addresses-files"]),
  remove(["logging", "debugging"]),
  remove(["max-workers"]),
  remove(["network", "tls", "auto-discovery"]),
  remove(["webmgmt"]),
  cachePrediction,
  enableRule(["cache", "garbage-collector"]),
  enableRule(["cache", "prefetch", "prediction"]),
  rename(["defer", "enabled"], ["defer", "enable"]),
  enableRule(["dns64"]),
  rename(["dns64", "rev-ttl"], ["dns64", "reverse-ttl"]),
  enableRule(["dnssec"], { addToObject: false }), // on by default, then and now
  rename(["dnssec", "trust-anchor-sentinel"], ["dnssec", "sentinel"]),
  rename(["dnssec", "trust-anchor-signal-query"], ["dnssec", "signal-query"]),
  dnstap,
  rename(["logging", "dnssec-bogus"], ["dnssec", "log-bogus"]),
  rename(["monitoring", "enabled"], ["monitoring", "metrics"]),
  enableRule(["monitoring", "graphite"]),
  enableRule(["network", "proxy-protocol"]),
  rename(["network", "tls", "files-watchdog"], ["network", "tls", "watchdog"]),
  // null was "no rate limiting": left for dropEmpty to remove, not turned on.
  enableRule(["rate-limiting"], { off: [] }),
  dropEmpty,
];

/** Applies every rule to a copy of the configuration. */
export function migrateConfig(config: Doc): MigrationResult {
  const doc = structuredClone(config);
  const changes: string[] = [];
  for (const rule of RULES) rule(doc, (line) => changes.push(line));
  return { config: doc, changes };
}
