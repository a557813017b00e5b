/**
 * Runs the example configurations of etc/config/ on this machine, for test/integration/examples.test.ts.
 *
 * An example is written for a real server (port 53, /run, /var/cache, LAN addresses, the company's
 * DNS servers). The test overlay below localizes only what is machine-specific, and nothing else:
 *
 *   - `rundir`, `cache.storage` and a configured `management.unix-socket` (runtime state)
 *                                        → a fresh temporary directory;
 *   - each `network.listen[i]`           → interface [127.0.0.1, ::1 when the host has it],
 *                                          port: ports[i] (from freePort()); its kind and
 *                                          freebind are kept, so the DoT listener stays DoT;
 *   - `network.tls.cert-file`/`key-file` → a self-signed certificate made by openssl (when set);
 *   - each server of each `forward` rule → the test knotd's 127.0.0.1@port (subtree and
 *                                          options kept).
 *
 * `changedPointers()` lets a test check that the overlay changed nothing more.
 *
 * kresd must not reach the internet (there is none here, and traffic to public addresses is
 * flagged): startKresd()'s offline guard (harness/offline.ts), appended after the rendered Lua by
 * the harness only, stops kresd's own queries and points the root hints at 127.0.0.1.
 */
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { parseConfigText } from "../lib/datamodel/load.js";
import { isPlainObject } from "../lib/utils/parsing.js";
import { REPO_ROOT } from "./repo.js";
import type { TlsFiles } from "./tls.js";

/** Where the examples live; relative paths in them (data/…) are resolved against it. */
export const CONFIG_DIR = path.join(REPO_ROOT, "etc/config");

export const EXAMPLES = {
  dev: "config.dev.yaml",
  home: "config.example.home.yaml",
  isp: "config.example.isp.yaml",
  internal: "config.example.internal.yaml",
} as const;
export type ExampleName = keyof typeof EXAMPLES;

export function exampleFile(name: ExampleName): string {
  return path.join(CONFIG_DIR, EXAMPLES[name]);
}

/** The example as the operator wrote it (parsed YAML, nothing validated yet). */
export function readExample(name: ExampleName): Record<string, unknown> {
  const file = exampleFile(name);
  const data = parseConfigText(fs.readFileSync(file, "utf8"), file);
  if (!isPlainObject(data)) throw new Error(`${file}: not a mapping`);
  return data;
}

/** Whether this host can listen on ::1. */
export function hasIpv6Loopback(): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host: "::1", port: 0 }, () => srv.close(() => resolve(true)));
  });
}

export interface Localization {
  /** Temporary directory for rundir, cache and management socket. */
  dir: string;
  /** One port per `network.listen` entry, in order. */
  ports: readonly number[];
  /** Also listen on ::1. */
  ipv6: boolean;
  /** Replaces `network.tls` cert-file and key-file (when the example sets them). */
  tls?: TlsFiles;
  /** 'addr@port' replacing every forward server address. */
  forwardTo?: string;
}

/** The test overlay described at the top of this file; `raw` is not modified. */
export function localize(raw: Record<string, unknown>, loc: Localization): Record<string, unknown> {
  const out = structuredClone(raw);
  const rundir = path.join(loc.dir, "run");
  const cacheDir = path.join(loc.dir, "cache");
  fs.mkdirSync(rundir, { recursive: true });
  fs.mkdirSync(cacheDir, { recursive: true });
  out.rundir = rundir;
  out.cache = { ...(isPlainObject(out.cache) ? out.cache : {}), storage: cacheDir };
  if (isPlainObject(out.management) && out.management["unix-socket"] !== undefined) {
    out.management = { ...out.management, "unix-socket": path.join(rundir, "kres-api.sock") };
  }

  const network = isPlainObject(out.network) ? out.network : {};
  const listen = Array.isArray(network.listen) ? (network.listen as unknown[]) : [];
  if (listen.length !== loc.ports.length) {
    throw new Error(`localize: ${listen.length} listen entries but ${loc.ports.length} ports`);
  }
  if (listen.length > 0) {
    network.listen = listen.map((entry, i) => {
      if (!isPlainObject(entry) || entry.interface === undefined)
        throw new Error(`localize: listen entry ${i} has no 'interface'`);
      return {
        ...entry,
        interface: loc.ipv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"],
        port: loc.ports[i],
      };
    });
  }
  if (isPlainObject(network.tls) && (network.tls["cert-file"] ?? network.tls["key-file"]) !== undefined) {
    if (!loc.tls) throw new Error("localize: the example sets a TLS certificate; give one");
    network.tls = { ...network.tls, "cert-file": loc.tls.cert, "key-file": loc.tls.key };
  }
  if (out.network !== undefined) out.network = network;

  if (Array.isArray(out.forward)) {
    const to = loc.forwardTo;
    if (to === undefined) throw new Error("localize: the example forwards; give forwardTo");
    out.forward = out.forward.map((rule: unknown) => {
      if (!isPlainObject(rule) || !Array.isArray(rule.servers)) return rule;
      const servers = rule.servers.map((s: unknown) => (isPlainObject(s) ? { ...s, address: to } : to));
      // Several plain servers all become the one knotd: list it once.
      return { ...rule, servers: servers.every((s) => s === to) ? [to] : servers };
    });
  }
  return out;
}

/** JSON pointers where `a` and `b` differ (a whole differing subtree is reported at its top). */
export function changedPointers(a: unknown, b: unknown, at = ""): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) => changedPointers(a[k], b[k], `${at}/${k}`));
  }
  if (Array.isArray(a) && Array.isArray(b) && a.length === b.length) {
    return a.flatMap((v, i) => changedPointers(v, b[i], `${at}/${i}`));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [at];
}
