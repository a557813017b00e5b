import { Findings } from "./findings.js";
import { atOrBelow, translatePolicy } from "./policy.js";
import type { RecordedEvent } from "./run.js";

/**
 * A kresd 5 config's recording (run.ts) as a config document of the 6.4 dialect. Every event is
 * either written into the document or reported (Findings): nothing is approximated. Settings
 * follow kresd's own order: a later `cache.size` overrides an earlier `cache.open`, a later
 * `log_level` an earlier one, and so on.
 */

export interface Translation {
  config: Record<string, unknown>;
  findings: Findings;
}

type Doc = Record<string, Record<string, unknown>>;

const LISTEN_KIND: Record<string, string | undefined> = {
  dns: "dns",
  tls: "dot",
  doh2: "doh2",
  doh: "doh-legacy",
  doh_legacy: "doh-legacy",
  xdp: "xdp",
};

const UNITS: [string, number][] = [
  ["G", 1024 ** 3],
  ["M", 1024 ** 2],
  ["K", 1024],
];

/** Bytes as the 6.4 dialect writes sizes: the largest unit that divides them exactly. */
export function sizeText(bytes: number): string {
  const n = Math.floor(bytes);
  for (const [unit, size] of UNITS) if (n > 0 && n % size === 0) return `${n / size}${unit}`;
  return `${n}B`;
}

function seconds(n: number): string {
  return `${Math.floor(n)}s`;
}

/** Modules kresd 5 loads by default: loading them again changes nothing. */
const DEFAULT_MODULES = new Set([
  "iterate",
  "validate",
  "cache",
  "policy",
  "ta_update",
  "ta_signal_query",
  "ta_sentinel",
  "priming",
  "detect_time_skew",
  "detect_time_jump",
  "edns_keepalive",
  "refuse_nord",
  "watchdog",
  "extended_error",
]);

/** Default modules whose unloading the 6.4 dialect can say. */
const UNLOAD_AS: Record<string, [string, string]> = {
  ta_signal_query: ["dnssec", "signal-query"],
  ta_sentinel: ["dnssec", "sentinel"],
  priming: ["options", "priming"],
  detect_time_jump: ["options", "time-jump-detection"],
  refuse_nord: ["options", "refuse-no-rd"],
  edns_keepalive: ["network", "edns-tcp-keepalive"],
};

/** Modules whose loading is one option of the 6.4 dialect. */
const MODULE_OPTION: Record<string, [string, string]> = {
  serve_stale: ["options", "serve-stale"],
  rebinding: ["options", "rebinding-protection"],
  workarounds: ["options", "violators-workarounds"],
  bogus_log: ["dnssec", "log-bogus"],
};

const str = (v: unknown): string => String(v);

/** A name as the 6.4 docs write them: without the trailing dot (the root stays '.'). */
const relative = (name: string): string => (name === "." ? name : name.replace(/\.$/, ""));

export function translateRecording(events: readonly RecordedEvent[]): Translation {
  const findings = new Findings();
  const doc: Doc = {};
  const section = (name: string): Record<string, unknown> => (doc[name] ??= {});

  const listen: Record<string, unknown>[] = [];
  const modules = new Map<string, RecordedEvent>();
  const moduleConfig = new Map<string, RecordedEvent>();
  const policies: RecordedEvent[] = [];
  const views: RecordedEvent[] = [];
  let viewFirst = false;
  const hints = new Map<string, { addresses: string[]; ev: RecordedEvent }>();
  let hintFiles: string[] = [];
  let hintsTtl: number | undefined;
  let rootRemoved: RecordedEvent | undefined;
  const taFiles: Record<string, unknown>[] = [];
  const taRecords: string[] = [];
  const ntas: string[] = [];
  let storage: string | undefined;

  for (const ev of events) {
    switch (ev.op) {
      case "listen": {
        const kind = LISTEN_KIND[str(ev.listen_kind)];
        if (!kind) {
          findings.untranslated(
            ev,
            `net.listen(…, { kind = '${str(ev.listen_kind)}' }): the manager serves its own management API and metrics (see 'management'); no listener of this kind`,
          );
          break;
        }
        const addrs = (ev.addrs as { address?: string; interface?: string }[]).map(
          (a) => a.address ?? a.interface ?? "",
        );
        const sockets = addrs.filter((a) => a.startsWith("/"));
        if (sockets.length > 0) {
          findings.untranslated(
            ev,
            `net.listen('${sockets[0]}'): kresd 5.6 under the manager serves DNS on IP addresses and interfaces only`,
          );
          break;
        }
        const entry: Record<string, unknown> = {
          interface: addrs.length === 1 ? addrs[0] : addrs,
          // kresd 5's net.listen takes port 53 whatever the kind; the 6.4 default depends on it
          port: typeof ev.port === "number" ? ev.port : 53,
        };
        if (kind !== "dns") entry.kind = kind;
        if (ev.freebind) entry.freebind = true;
        listen.push(entry);
        findings.translated(ev);
        break;
      }
      case "ip_family":
        section("network")[ev.family === "ipv4" ? "do-ipv4" : "do-ipv6"] = ev.on;
        findings.translated(ev);
        break;
      case "bufsize":
        section("network")["edns-buffer-size"] = {
          downstream: `${Number(ev.downstream)}B`,
          upstream: `${Number(ev.upstream)}B`,
        };
        findings.translated(ev);
        break;
      case "tls": {
        const tls = (section("network").tls ??= {}) as Record<string, unknown>;
        tls["cert-file"] = ev.cert;
        tls["key-file"] = ev.key;
        findings.translated(ev);
        break;
      }
      case "tls_padding": {
        const tls = (section("network").tls ??= {}) as Record<string, unknown>;
        tls.padding = ev.padding;
        findings.translated(ev);
        break;
      }
      case "tls_sticket_secret":
      case "tls_sticket_secret_file": {
        const tls = (section("network").tls ??= {}) as Record<string, unknown>;
        if (ev.op === "tls_sticket_secret") tls["sticket-secret"] = ev.secret;
        else tls["sticket-secret-file"] = ev.file;
        findings.translated(ev);
        break;
      }
      case "tcp_pipeline":
        section("network")["tcp-pipeline"] = ev.value;
        findings.translated(ev);
        break;
      case "outgoing":
        section("network")[ev.family === 4 ? "out-interface-v4" : "out-interface-v6"] = ev.address;
        findings.translated(ev);
        break;
      case "proxy_allowed":
        section("network")["proxy-protocol"] = { enable: true, allow: ev.allow };
        findings.translated(ev);
        break;
      case "cache": {
        const c = section("cache");
        if (typeof ev.size === "number") c["size-max"] = sizeText(ev.size);
        if (typeof ev.storage === "string") {
          const m = /^lmdb:\/\/(.*)$/.exec(ev.storage);
          if (!m) {
            findings.untranslated(
              ev,
              `cache storage '${ev.storage}': only 'lmdb://DIR' is a cache directory`,
            );
            break;
          }
          storage = m[1] === "" ? undefined : m[1];
          if (storage === undefined) delete c.storage;
          else c.storage = storage;
        }
        findings.translated(ev);
        break;
      }
      case "cache_ttl":
        section("cache")[ev.which === "max" ? "ttl-max" : "ttl-min"] = seconds(Number(ev.seconds));
        findings.translated(ev);
        break;
      case "ta_file":
        taFiles.push({ file: ev.file, ...(ev.readonly ? { "read-only": true } : {}) });
        findings.translated(ev);
        break;
      case "ta_add":
        taRecords.push(str(ev.rr));
        findings.translated(ev);
        break;
      case "ta_remove":
        if (ev.owner === ".") {
          rootRemoved = ev;
        } else {
          findings.untranslated(
            ev,
            `trust_anchors.remove('${str(ev.owner)}'): the 6.4 dialect removes no trust anchor but the root's (dnssec: false)`,
          );
        }
        break;
      case "nta":
        ntas.push(...(ev.names as string[]));
        findings.translated(ev);
        break;
      case "log_level":
        section("logging").level = ev.level;
        findings.translated(ev);
        break;
      case "verbose":
        section("logging").level = ev.on ? "debug" : "notice";
        findings.translated(ev);
        break;
      case "log_target":
        section("logging").target = ev.target;
        findings.translated(ev);
        break;
      case "log_groups":
        section("logging").groups = ev.groups;
        findings.translated(ev);
        break;
      case "user":
        findings.untranslated(
          ev,
          `user('${str(ev.user)}'): the manager runs the workers as its own user (start it as that user, e.g. with systemd's User=)`,
        );
        break;
      case "nsid":
        (doc as Record<string, unknown>).nsid = ev.value;
        findings.translated(ev);
        break;
      case "module": {
        const name = str(ev.name);
        if (name === "view" && /^\s*view\s*</.test(str(ev.spec))) viewFirst = true;
        if (name === "hints" && modules.has("hints") && (hints.size > 0 || hintFiles.length > 0)) {
          // kresd 5 reloads a module loaded again: the hints set so far are gone
          hints.clear();
          hintFiles = [];
          findings.note(
            ev,
            "modules.load('hints') again: kresd 5 reloads the module and forgets the hints set before (left out)",
          );
        }
        if (!modules.has(name)) modules.set(name, ev);
        break;
      }
      case "module_unload": {
        const name = str(ev.name);
        const as = UNLOAD_AS[name];
        if (as) {
          section(as[0])[as[1]] = false;
          findings.translated(ev);
        } else if (modules.delete(name)) {
          findings.translated(ev);
        } else {
          findings.untranslated(
            ev,
            `modules.unload('${name}'): the 6.4 dialect cannot leave that module out`,
          );
        }
        break;
      }
      case "module_config":
        moduleConfig.set(str(ev.module), ev);
        break;
      case "policy":
        policies.push(ev);
        break;
      case "view":
        views.push(ev);
        break;
      case "hint": {
        const name = str(ev.name);
        const h = hints.get(name) ?? { addresses: [], ev };
        if (!h.addresses.includes(str(ev.address))) h.addresses.push(str(ev.address));
        hints.set(name, h);
        break;
      }
      case "hints_file":
        if (ev.replace) {
          hints.clear();
          hintFiles = [];
        }
        // the same file twice holds the same names
        if (typeof ev.file === "string" && !hintFiles.includes(ev.file)) hintFiles.push(ev.file);
        findings.translated(ev);
        break;
      case "hints_ttl":
        hintsTtl = Number(ev.seconds);
        findings.translated(ev);
        break;
      case "hints_nodata":
        section("local-data").nodata = ev.on;
        findings.translated(ev);
        break;
      case "env":
        findings.note(
          ev,
          `${ev.value === undefined || ev.value === null ? "unset" : `'${str(ev.value)}'`} read from $${str(ev.name)} now: the YAML holds the result, not the lookup`,
        );
        findings.translated(ev);
        break;
      case "read":
        findings.translated(ev);
        break;
      case "ignored":
        findings.note(ev, `${str(ev.what)} (the others are left out)`);
        findings.translated(ev);
        break;
      case "unsupported":
        findings.untranslated(
          ev,
          `${str(ev.what)}: not translated${ev.detail ? ` (${str(ev.detail)})` : ""}`,
        );
        break;
      default:
        findings.untranslated(ev, `${ev.op}: not translated`);
    }
  }

  if (listen.length > 0) section("network").listen = listen;
  else {
    // kresd 5 with no listener binds these after the config (postconfig.lua): plain DNS on ports 53
    // and 853 of 127.0.0.1, and of ::1 if it can.
    section("network").listen = [
      { interface: "127.0.0.1", port: 53 },
      { interface: "127.0.0.1", port: 853 },
      { interface: "::1", port: 53, freebind: true },
      { interface: "::1", port: 853, freebind: true },
    ];
  }

  translateModules(modules, moduleConfig, findings, doc, section);

  // DNSSEC
  if (rootRemoved) {
    if (taFiles.length > 0 || taRecords.length > 0) {
      findings.untranslated(
        rootRemoved,
        "trust_anchors.remove('.') with other trust anchors: the 6.4 dialect keeps the root's when it has any",
      );
    } else {
      section("dnssec").enable = false;
      findings.translated(rootRemoved);
    }
  }
  if (taFiles.length > 0) section("dnssec")["trust-anchors-files"] = taFiles;
  if (taRecords.length > 0) section("dnssec")["trust-anchors"] = taRecords;
  if (ntas.length > 0) section("dnssec")["negative-trust-anchors"] = [...new Set(ntas.map(relative))];

  // Policy, views and hints (local data)
  const pol = translatePolicy(policies, modules.has("view") ? views : [], viewFirst, findings);
  const ld = section("local-data");
  const addresses: Record<string, string | string[]> = {};
  for (const [name, h] of hints) {
    const blocked = pol.blocked.find((b) => atOrBelow(name, b.name));
    if (blocked) {
      findings.note(
        h.ev,
        `hint '${name}': kresd 5 never answers it: the block of '${blocked.name}' at line ${blocked.line ?? "?"} comes first (left out)`,
      );
      findings.translated(h.ev);
      continue;
    }
    addresses[relative(name)] = h.addresses.length === 1 ? (h.addresses[0] as string) : h.addresses;
    findings.translated(h.ev);
  }
  if (Object.keys(addresses).length > 0) ld.addresses = addresses;
  if (hintFiles.length > 0) ld["addresses-files"] = hintFiles;
  if (Object.keys(addresses).length > 0 || hintFiles.length > 0) {
    // kresd 5's hints answer with a TTL of 5 s unless hints.ttl() says otherwise
    ld.ttl = seconds(hintsTtl ?? 5);
  }
  if (pol.rules.length > 0)
    ld.rules = pol.rules.map((r) => ({ ...r, name: r.name.map((n) => n.replace(/\.$/, "") || ".") }));
  if (pol.rpz.length > 0) ld.rpz = pol.rpz;
  if (pol.views.length > 0) (doc as Record<string, unknown>).views = pol.views;
  if (pol.forward.length > 0)
    (doc as Record<string, unknown>).forward = pol.forward.map((r) => ({
      ...r,
      subtree: r.subtree.map(relative),
    }));
  if (views.length > 0 && !modules.has("view")) {
    for (const ev of views) findings.untranslated(ev, "view:addr() without the view module loaded");
  }

  return { config: ordered(doc), findings };
}

function translateModules(
  modules: Map<string, RecordedEvent>,
  configs: Map<string, RecordedEvent>,
  findings: Findings,
  doc: Doc,
  section: (name: string) => Record<string, unknown>,
): void {
  for (const [name, ev] of modules) {
    const cfgEv = configs.get(name);
    const cfg = cfgEv?.config;
    const done = () => {
      findings.translated(ev);
      if (cfgEv) findings.translated(cfgEv);
    };
    const option = MODULE_OPTION[name];
    if (option) {
      section(option[0])[option[1]] = true;
      done();
      continue;
    }
    if (
      DEFAULT_MODULES.has(name) ||
      name === "hints" ||
      name === "view" ||
      name === "stats" ||
      name === "nsid"
    ) {
      done();
      continue;
    }
    switch (name) {
      case "predict": {
        const c = (cfg ?? {}) as { window?: number; period?: number };
        section("cache").prefetch = {
          expiring: true,
          prediction: { enable: true, window: `${c.window ?? 15}m`, period: c.period ?? 24 },
        };
        done();
        break;
      }
      case "dns64": {
        const d64: Record<string, unknown> = { enable: true };
        const c = cfg as
          string | { prefix?: string; rev_ttl?: number; exclude_subnets?: string[] } | undefined;
        const prefix = typeof c === "string" ? c : c?.prefix;
        if (prefix !== undefined) d64.prefix = prefix.includes("/") ? prefix : `${prefix}/96`;
        if (typeof c === "object" && c.rev_ttl !== undefined) d64["reverse-ttl"] = seconds(c.rev_ttl);
        if (typeof c === "object" && c.exclude_subnets !== undefined)
          d64["exclude-subnets"] = c.exclude_subnets;
        doc.dns64 = d64;
        done();
        break;
      }
      case "prefill": {
        const c = (cfg ?? {}) as Record<string, { url?: string; interval?: number; ca_file?: string }>;
        const zones = Object.entries(c).map(([origin, z]) => ({
          origin,
          url: z.url,
          ...(z.interval !== undefined ? { "refresh-interval": seconds(z.interval) } : {}),
          ...(z.ca_file !== undefined ? { "ca-file": z.ca_file } : {}),
        }));
        if (zones.length === 0) {
          findings.untranslated(ev, "modules.load('prefill') without prefill.config(): nothing to prefill");
          break;
        }
        section("cache").prefill = zones;
        done();
        break;
      }
      case "graphite": {
        const c = (cfg ?? {}) as {
          host?: unknown;
          port?: number;
          prefix?: string;
          interval?: number;
          tcp?: boolean;
        };
        const g: Record<string, unknown> = { enable: true };
        if (c.host !== undefined) g.host = Array.isArray(c.host) ? c.host[0] : c.host;
        if (c.port !== undefined) g.port = c.port;
        if (c.prefix !== undefined) g.prefix = c.prefix;
        if (c.interval !== undefined) g.interval = `${c.interval}ms`;
        if (c.tcp !== undefined) g.tcp = c.tcp;
        if (Array.isArray(c.host) && c.host.length > 1) {
          findings.untranslated(ev, "graphite with several hosts: the 6.4 dialect sends to one");
          break;
        }
        section("monitoring").graphite = g;
        done();
        break;
      }
      case "dnstap": {
        const c = (cfg ?? {}) as { socket_path?: string; client?: Record<string, boolean> };
        const client = c.client ?? {};
        section("logging").dnstap = {
          enable: true,
          "unix-socket": c.socket_path ?? "/tmp/dnstap.sock",
          "log-queries": client.log_queries ?? false,
          "log-responses": client.log_responses ?? false,
          "log-tcp-rtt": client.log_tcp_rtt ?? false,
        };
        done();
        break;
      }
      default:
        findings.untranslated(
          ev,
          name === "http"
            ? "modules.load('http'): the manager serves metrics and its API itself; the web interface and legacy DoH settings are not translated"
            : `modules.load('${name}'): the 6.4 dialect has no equivalent`,
        );
        if (cfgEv) findings.untranslated(cfgEv, `${name} configuration: not translated`);
    }
  }
  // Configuration of modules never loaded cannot happen in kresd (the module table is missing).
}

const ORDER = [
  "nsid",
  "network",
  "views",
  "local-data",
  "forward",
  "cache",
  "dnssec",
  "dns64",
  "logging",
  "monitoring",
  "options",
];

/** Sections in the order the 6.4 docs present them; empty ones left out. */
function ordered(doc: Doc): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key of [...ORDER, ...Object.keys(doc)]) {
    const v = (doc as Record<string, unknown>)[key];
    if (v === undefined || key in out) continue;
    if (typeof v === "object" && v !== null && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[key] = v;
  }
  return out;
}
