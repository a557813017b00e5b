/**
 * The node inspector (`node --inspect`, which the launchers add for KRES_NODE_INSPECT): whoever
 * connects to it runs code as this process, and it asks for no credentials. So a process started
 * with it says so, and refuses an address other machines can reach unless told to allow it.
 */
import * as inspector from "node:inspector";
import { isIPv4 } from "node:net";

/** The environment variable that allows an inspector on a non-loopback address. */
export const INSPECT_FORCE_ENV = "KRES_NODE_INSPECT_FORCE";

/** Whether a host (as in a URL: IPv6 in brackets) is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const h = (host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host).toLowerCase();
  return h === "localhost" || h === "::1" || (isIPv4(h) && h.startsWith("127."));
}

export type InspectorCheck =
  | { verdict: "none" }
  /** Open; `message` is the warning to log at start. */
  | { verdict: "warn"; message: string }
  /** Open on a non-loopback address without KRES_NODE_INSPECT_FORCE=1: closed again; `message` says why. */
  | { verdict: "refuse"; message: string };

/**
 * Checks the inspector of this process (`url` is inspector.url(), passed by tests). A refused one
 * is closed at once, so it is open only while node loaded the code that got here.
 */
export function checkInspector(
  env: NodeJS.ProcessEnv = process.env,
  url: string | undefined = inspector.url(),
): InspectorCheck {
  if (!url) return { verdict: "none" };
  const { host, hostname } = new URL(url);
  const risk = "anyone who can connect to it runs code as this process, without authentication";
  if (!isLoopbackHost(hostname) && env[INSPECT_FORCE_ENV] !== "1") {
    if (url === inspector.url()) inspector.close();
    return {
      verdict: "refuse",
      message:
        `node inspector on ${host} (KRES_NODE_INSPECT or --inspect), not a loopback address: ${risk}; ` +
        `refused (${INSPECT_FORCE_ENV}=1 allows it)`,
    };
  }
  return {
    verdict: "warn",
    message: `node inspector open on ${host} (KRES_NODE_INSPECT or --inspect): ${risk}`,
  };
}
