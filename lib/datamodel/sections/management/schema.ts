import { z } from "zod";
import { ipAddressPort, writableFilePath } from "../../types/index.js";

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
