import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { withValidationContext } from "../datamodel/context.js";
import { formatProblems, problemsFromIssues } from "../datamodel/errors.js";
import { parseConfigText } from "../datamodel/load.js";
import { DEFAULT_API_SOCKET, managementSchema } from "../datamodel/sections/management/schema.js";
import { hostPortOf } from "../datamodel/types/net.js";
import { isPlainObject } from "../utils/parsing.js";
import { CliError, DEFAULT_CONFIG_FILE, type GlobalArgs } from "./common.js";

/** Where the management HTTP API listens. */
export type ApiTarget = { kind: "unix"; path: string } | { kind: "tcp"; host: string; port: number };

/** The API kresctl talks to, and where that choice came from (named when it cannot be reached). */
export interface ApiEndpoint {
  target: ApiTarget;
  source: string;
  /** The file holding the API's bearer token, and who named it (sent on TCP only). */
  token?: { file: string; source: string };
}

/** Names the token file for any endpoint, before the config's management/token-file. */
export const TOKEN_FILE_ENV = "KRES_MANAGER_TOKEN_FILE";

/** The API as shown to the user: "unix socket PATH" or "http://HOST:PORT". */
export function describeTarget(t: ApiTarget): string {
  if (t.kind === "unix") return `unix socket ${t.path}`;
  return `http://${t.host.includes(":") ? `[${t.host}]` : t.host}:${t.port}`;
}

function invalid(value: string, why: string): CliError {
  return new CliError(`invalid --socket '${value}': ${why}`);
}

function tcp(value: string, host: string, portText: string): ApiTarget {
  const port = /^\d+$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) throw invalid(value, `'${portText}' is not a port number`);
  if (!host) throw invalid(value, "no host before the port");
  return { kind: "tcp", host, port };
}

/**
 * Parses -s/--socket: a unix socket path, `HOST:PORT` (`[IPv6]:PORT`), `ADDRESS@PORT` as in the
 * config's management/interface, or upstream's URL forms `http://HOST:PORT` and
 * `http+unix://<percent-encoded path>`. A relative path is taken from the current directory.
 */
export function parseSocketArg(value: string): ApiTarget {
  if (value === "") throw invalid(value, "empty");
  if (/^http\+unix:\/\//i.test(value)) {
    const encoded = value.slice("http+unix://".length).split("/")[0] ?? "";
    const p = decodeURIComponent(encoded);
    if (!p) throw invalid(value, "no socket path after http+unix://");
    return { kind: "unix", path: path.resolve(p) };
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw invalid(value, "not a valid URL");
    }
    if (url.protocol !== "http:") throw invalid(value, `only http:// is supported, not ${url.protocol}//`);
    return tcp(value, url.hostname.replace(/^\[(.*)\]$/, "$1"), url.port || "80");
  }
  const bracketed = /^\[([^\]]+)\]:([^:]*)$/.exec(value);
  if (bracketed) return tcp(value, bracketed[1] as string, bracketed[2] as string);
  if (!value.includes("/")) {
    const hostPort = /^([^:@]*):(\d*)$/.exec(value);
    if (hostPort) return tcp(value, hostPort[1] as string, hostPort[2] as string);
    const at = /^(.+)@(\d+)$/.exec(value);
    if (at && net.isIP(at[1] as string)) return tcp(value, at[1] as string, at[2] as string);
  }
  return { kind: "unix", path: path.resolve(value) };
}

/**
 * The management API named in a config file's `management` section (validated like the manager
 * does, without file-system checks; a relative socket path is relative to the file's directory),
 * or undefined when the file has no such section. `optional`: an unreadable file counts as absent.
 */
export function endpointFromConfig(file: string, optional: boolean): ApiEndpoint | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if (optional) return undefined;
    throw new CliError(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  const data = parseConfigText(text, file);
  if (!isPlainObject(data) || data.management === undefined) return undefined;
  const parsed = withValidationContext({ strict: false, baseDir: path.dirname(path.resolve(file)) }, () =>
    managementSchema.safeParse(data.management),
  );
  if (!parsed.success)
    throw new CliError(`${file}: ${formatProblems(problemsFromIssues(parsed.error.issues, ["management"]))}`);
  const m = parsed.data;
  if (m["unix-socket"] !== undefined)
    return { target: { kind: "unix", path: m["unix-socket"] }, source: `/management/unix-socket in ${file}` };
  const hp = hostPortOf(m.interface as string);
  const tokenFile = m["token-file"];
  return {
    target: { kind: "tcp", host: hp.addr as string, port: hp.port as number },
    source: `/management/interface in ${file}`,
    ...(tokenFile ? { token: { file: tokenFile, source: `/management/token-file in ${file}` } } : {}),
  };
}

/**
 * Which management API to talk to, as upstream's kresctl decides: -s/--socket; else the
 * `management` section of --config FILE (which must be readable); else that of the default config
 * ($KRES_MANAGER_CONFIG or /etc/knot-resolver/config.yaml) when it is readable; else the packaged
 * default socket. The API token's file: $KRES_MANAGER_TOKEN_FILE, else the config's
 * management/token-file (when the config was read).
 */
export function resolveEndpoint(args: GlobalArgs, env: NodeJS.ProcessEnv): ApiEndpoint {
  const endpoint = endpointOf(args, env);
  const tokenFile = env[TOKEN_FILE_ENV];
  if (tokenFile) return { ...endpoint, token: { file: tokenFile, source: `$${TOKEN_FILE_ENV}` } };
  return endpoint;
}

function endpointOf(args: GlobalArgs, env: NodeJS.ProcessEnv): ApiEndpoint {
  if (args.socket !== undefined) return { target: parseSocketArg(args.socket), source: "--socket" };
  const explicit = args.config !== undefined;
  const file = args.config ?? (env.KRES_MANAGER_CONFIG || DEFAULT_CONFIG_FILE);
  const fromConfig = endpointFromConfig(file, !explicit);
  if (fromConfig) return fromConfig;
  return { target: { kind: "unix", path: DEFAULT_API_SOCKET }, source: "the default" };
}
