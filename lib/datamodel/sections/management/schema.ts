import { z } from "zod";
import { validationContext } from "../../context.js";
import { ipAddressPort, readableFile, writableFilePath } from "../../types/index.js";
import { readTokenFile, TokenFileError } from "./token.js";

/** Where the manager's HTTP API listens when the config says nothing (inside the default rundir). */
export const DEFAULT_API_SOCKET = "/run/knot-resolver/kres-api.sock";

const managementObject = z
  .strictObject({
    "unix-socket": writableFilePath
      .optional()
      .meta({ description: "Unix domain socket the management HTTP API listens on." }),
    interface: ipAddressPort
      .optional()
      .meta({ description: "IP address and port ('<address>@<port>') the management HTTP API listens on." }),
    // An extension of this project (upstream Knot Resolver has no authentication on its API).
    "token-file": readableFile.optional().meta({
      description:
        "Extension of this project, not in upstream Knot Resolver: a file holding a bearer token; every request on 'interface' must then carry 'Authorization: Bearer <token>' (kresctl reads the file and sends it). Only with 'interface': the unix socket's file permissions guard it.",
    }),
    // An extension of this project (upstream Knot Resolver keeps API changes in memory only).
    persist: z.boolean().optional().meta({
      description:
        "Extension of this project, not in upstream Knot Resolver: when true, every change made through the API (PUT/PATCH/DELETE /v1/config, kresctl config set/delete) is also written into the config file that defines the key, keeping its comments and layout; '?persist=false' on a request (or '--persist' on kresctl) overrides it per change. Default false: changes live in memory only, as upstream. Can change at run time.",
    }),
  })
  .superRefine(
    (m, ctx) => {
      const socket = m["unix-socket"] !== undefined;
      const iface = m.interface !== undefined;
      if (socket && iface) {
        ctx.addIssue({
          code: "custom",
          path: ["interface"],
          message: "'interface' and 'unix-socket' are both set; configure exactly one of them",
        });
      } else if (!socket && !iface) {
        ctx.addIssue({
          code: "custom",
          path: [],
          message: "configure exactly one of 'unix-socket' or 'interface'",
        });
      }
      const tokenFile = m["token-file"];
      if (tokenFile !== undefined && !iface) {
        ctx.addIssue({
          code: "custom",
          path: ["token-file"],
          message: "a token guards 'interface' only; the unix socket is guarded by its file permissions",
        });
      } else if (tokenFile !== undefined && validationContext().strict) {
        // At start the manager reads it again; a token that cannot be used is told here, with its key.
        try {
          readTokenFile(tokenFile);
        } catch (e) {
          if (!(e instanceof TokenFileError)) throw e;
          ctx.addIssue({ code: "custom", path: ["token-file"], message: e.message });
        }
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/**
 * The `management` section: where the manager's own HTTP API listens. Nothing of it reaches kresd.
 * Left out, it is upstream's fixed default, the socket in the default rundir; that default is taken
 * as is (zod's `.default` does not parse it), so it is not checked against the file system the way
 * a written value is.
 */
// (JSON Schema drops defaults of transforming schemas in input mode, so the description names it.)
export const managementSchema = managementObject.default({ "unix-socket": DEFAULT_API_SOCKET }).meta({
  description: `Where the management HTTP API listens: a unix socket or an IP address and port; by default the unix socket ${DEFAULT_API_SOCKET}.`,
});
export type ManagementConfig = z.output<typeof managementSchema>;
