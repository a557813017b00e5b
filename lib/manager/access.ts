/**
 * Who may talk to the management API. On the unix socket the file's permissions (0660, the
 * socket's group) decide before any byte arrives, and no browser can reach it. The TCP interface
 * can be reached by any web page the operator visits: a "simple" cross-origin request (POST with
 * text/plain, no preflight) or a DNS-rebound name would otherwise drive it. Each middleware here
 * refuses one kind of such request, before any body is read.
 */
import * as crypto from "node:crypto";
import * as net from "node:net";
import type { NextFunction, Request, RequestHandler, Response } from "express";
import type { ManagementConfig } from "../datamodel/sections/management/schema.js";
import { hostPortOf } from "../datamodel/types/net.js";
import { ManagerError } from "./errors.js";

/** How the API is reached, as the checks need it. */
export type AccessPolicy =
  | { kind: "unix" }
  | {
      kind: "tcp";
      /** The configured address (may be a wildcard: 0.0.0.0 or ::). */
      addr: string;
      port: number;
      /** The bearer token every request must carry, when management/token-file is set. */
      token?: string;
    };

/** The policy for a management section; `token` is the content of its token-file. */
export function accessPolicyOf(management: ManagementConfig, token?: string): AccessPolicy {
  if (management.interface === undefined) return { kind: "unix" };
  const { addr, port } = hostPortOf(management.interface);
  return { kind: "tcp", addr: addr as string, port: port as number, ...(token ? { token } : {}) };
}

/** A request refused for who or where it comes from (401, 403, 415). */
export class AccessRefused extends ManagerError {
  constructor(
    override readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const WILDCARDS = new Set(["0.0.0.0", "::"]);

const LOOPBACK = new net.BlockList();
LOOPBACK.addSubnet("127.0.0.0", 8, "ipv4");
LOOPBACK.addAddress("::1", "ipv6");

function family(ip: string): "ipv4" | "ipv6" {
  return net.isIPv4(ip) ? "ipv4" : "ipv6";
}

/** Whether an IP address is a loopback one (127.0.0.0/8, ::1). */
export function isLoopback(ip: string): boolean {
  return net.isIP(ip) !== 0 && LOOPBACK.check(ip, family(ip));
}

function sameIp(a: string, b: string): boolean {
  if (family(a) !== family(b)) return false;
  const list = new net.BlockList();
  list.addAddress(a, family(a)); // compares addresses, not spellings (::1 = 0:0:0:0:0:0:0:1)
  return list.check(b, family(b));
}

/**
 * Whether a host name and port (as a Host or Origin header names them) are this interface: its IP
 * address (any IP address when it listens on a wildcard), or `localhost` when it is a loopback or
 * wildcard address, and its port. Other names are refused: a name can be made to resolve to this
 * address by whoever owns it (DNS rebinding), an IP address cannot.
 */
function namesInterface(policy: AccessPolicy & { kind: "tcp" }, host: string, port: number): boolean {
  if (port !== policy.port) return false;
  const name = host.toLowerCase();
  const wildcard = WILDCARDS.has(policy.addr);
  if (name === "localhost") return wildcard || isLoopback(policy.addr);
  if (net.isIP(name) === 0) return false;
  return wildcard || sameIp(policy.addr, name);
}

/** A Host header's name and port ('[v6]:port', 'name:port', port 80 when absent); undefined if malformed. */
function parseHost(value: string): { host: string; port: number } | undefined {
  const m = /^\[([\da-f:.]+)\](?::(\d{1,5}))?$/i.exec(value) ?? /^([^:[\]]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return undefined;
  return { host: m[1] as string, port: m[2] === undefined ? 80 : Number(m[2]) };
}

/** How the interface is written in messages: 127.0.0.1:5000, [::1]:5000. */
function shown(policy: AccessPolicy & { kind: "tcp" }): string {
  return `${policy.addr.includes(":") ? `[${policy.addr}]` : policy.addr}:${policy.port}`;
}

const pass = (_req: Request, _res: Response, next: NextFunction): void => next();

/** TCP: the Host header names this interface (no rebinding). The unix socket: any (kresctl, curl). */
export function checkHost(policy: AccessPolicy): RequestHandler {
  if (policy.kind !== "tcp") return pass;
  return (req, _res, next) => {
    const value = req.headers.host ?? "";
    const parsed = parseHost(value);
    if (!parsed || !namesInterface(policy, parsed.host, parsed.port))
      throw new AccessRefused(
        403,
        `Host '${value}' does not name this API's interface ${shown(policy)}; use its IP address${isLoopback(policy.addr) ? " or localhost" : ""} (other names are refused against DNS rebinding)`,
      );
    next();
  };
}

/**
 * An Origin header is sent by browsers only: on TCP it must be this interface's own origin; the
 * unix socket has no web origin, so any Origin there means a browser behind a proxy, refused.
 */
export function checkOrigin(policy: AccessPolicy): RequestHandler {
  return (req, _res, next) => {
    const origin = req.headers.origin;
    if (origin === undefined) return next();
    if (policy.kind === "tcp") {
      let url: URL | undefined;
      try {
        url = new URL(origin);
      } catch {
        url = undefined; // "null" (sandboxed frames, file:) and garbage
      }
      const host = url?.hostname.replace(/^\[(.*)\]$/, "$1") ?? "";
      if (url?.protocol === "http:" && namesInterface(policy, host, Number(url.port || 80))) return next();
    }
    throw new AccessRefused(
      403,
      `cross-origin request refused: Origin '${origin}' is not ${policy.kind === "tcp" ? `this API's own (http://${shown(policy)})` : "served on the unix socket"}`,
    );
  };
}

function digest(s: string): Buffer {
  return crypto.createHash("sha256").update(s).digest();
}

/**
 * The dashboard's own files (GET /ui/…): the same for every installation and holding nothing of
 * this resolver, they load without the token (a browser cannot send one when it opens a URL); every
 * request the page makes for data or changes carries it. Host and Origin are checked as for the rest.
 */
export function isDashboardFile(req: Request): boolean {
  const method = req.method.toUpperCase();
  return (method === "GET" || method === "HEAD") && (req.path === "/ui" || req.path.startsWith("/ui/"));
}

/** TCP with a token: `Authorization: Bearer <token>`, compared in constant time. */
export function checkToken(policy: AccessPolicy): RequestHandler {
  if (policy.kind !== "tcp" || policy.token === undefined) return pass;
  const expected = digest(policy.token); // equal lengths for timingSafeEqual, whatever is sent
  return (req, res, next) => {
    if (isDashboardFile(req)) return next();
    const m = /^Bearer +(\S+) *$/i.exec(req.headers.authorization ?? "");
    if (!m || !crypto.timingSafeEqual(digest(m[1] as string), expected)) {
      res.setHeader("WWW-Authenticate", 'Bearer realm="knot-resolver"');
      throw new AccessRefused(
        401,
        m
          ? "wrong API token"
          : "this API needs 'Authorization: Bearer <token>' (the token is in the file management/token-file names; kresctl sends it)",
      );
    }
    next();
  };
}

// What a web page cannot send cross-origin without a CORS preflight, which this API never allows:
// JSON and YAML. text/plain and forms go without one, so they are refused on TCP.
const STRUCTURED = /^(?:application\/(?:json|[a-z0-9.+-]+\+json|yaml|x-yaml)|text\/(?:yaml|x-yaml))$/;
const STATE_CHANGING = new Set(["PUT", "PATCH", "DELETE", "POST"]);

function hasBody(req: Request): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * TCP: a request that changes something says its body is JSON or YAML. A request without a body
 * and without a Content-Type (kresctl's or curl's POST /stop) passes: a browser's cross-origin one
 * carries an Origin, refused above; upstream's kresctl sends application/json.
 */
export function checkContentType(policy: AccessPolicy): RequestHandler {
  if (policy.kind !== "tcp") return pass;
  return (req, _res, next) => {
    if (!STATE_CHANGING.has(req.method.toUpperCase())) return next();
    const type = req.headers["content-type"];
    if (type === undefined && !hasBody(req)) return next();
    const mediaType = (type ?? "").split(";")[0]!.trim().toLowerCase();
    if (STRUCTURED.test(mediaType)) return next();
    throw new AccessRefused(
      415,
      `${req.method} on the TCP interface needs a JSON or YAML body type (application/json, application/yaml, the patch types), not '${type ?? "none"}': a web page can send that one cross-origin`,
    );
  };
}

/** Every check, in order: where the request is addressed, which page sent it, who, what it carries. */
export function accessChecks(policy: AccessPolicy): RequestHandler[] {
  return [checkHost(policy), checkOrigin(policy), checkToken(policy), checkContentType(policy)];
}

/** Start-up warnings about the management section: an address other hosts can reach. */
export function exposureWarning(policy: AccessPolicy): string | undefined {
  if (policy.kind !== "tcp" || isLoopback(policy.addr)) return undefined;
  return `the management API listens on ${shown(policy)}, which is not a loopback address: whoever reaches it can change the configuration (and its lua section runs code)${policy.token === undefined ? " and nothing authenticates them (set management/token-file)" : "; it needs the token of management/token-file"}, over plain HTTP`;
}
