import { z } from "zod";
import { idPattern, intPositive, readableFile, timeUnit } from "../../types/index.js";

// The whole section is an extension of this project: upstream Knot Resolver 6 manages one machine.
const EXTENSION = "Extension of this project, not in upstream Knot Resolver:";

const endpoint = z.string({ error: "expected an etcd client URL" }).regex(/^https?:\/\/[^/\s]+$/, {
  error: "expected an etcd client URL 'http://host:port' or 'https://host:port'",
});

const etcdSchema = z
  .strictObject({
    endpoints: z
      .array(endpoint)
      .min(1, { error: "name at least one etcd endpoint" })
      .meta({ description: "Client URLs of the etcd cluster's members (http:// or https://)." }),
    "ca-file": readableFile
      .optional()
      .meta({ description: "CA certificate(s) the etcd members' TLS certificates are checked against." }),
    "cert-file": readableFile
      .optional()
      .meta({ description: "Client certificate for etcd (TLS client authentication), with 'key-file'." }),
    "key-file": readableFile.optional().meta({ description: "Private key of 'cert-file'." }),
    username: z.string().min(1).optional().meta({ description: "etcd user (etcd's own authentication)." }),
    password: z.string().optional().meta({ description: "Password of 'username'." }),
  })
  .superRefine((e, ctx) => {
    if ((e["cert-file"] === undefined) !== (e["key-file"] === undefined))
      ctx.addIssue({
        code: "custom",
        path: [e["cert-file"] === undefined ? "cert-file" : "key-file"],
        message: "'cert-file' and 'key-file' go together",
      });
    if ((e.username === undefined) !== (e.password === undefined))
      ctx.addIssue({
        code: "custom",
        path: [e.username === undefined ? "username" : "password"],
        message: "'username' and 'password' go together",
      });
    const tls = e["ca-file"] !== undefined || e["cert-file"] !== undefined;
    e.endpoints.forEach((url, i) => {
      if (tls && url.startsWith("http://"))
        ctx.addIssue({
          code: "custom",
          path: ["endpoints", i],
          message: "TLS options are set: the endpoint must be https://",
        });
    });
  });

const rolloutSchema = z
  .strictObject({
    "soak-time": timeUnit.default("30s").meta({
      description: "How long the canary node must stay healthy on a new revision before the waves.",
    }),
    "wave-size": intPositive
      .default(10)
      .meta({ description: "At most this many nodes apply a revision at once after the canary." }),
    "apply-timeout": timeUnit.default("120s").meta({
      description: "How long a node may take to apply a revision before the rollout counts it failed.",
    }),
  })
  .prefault({});

/**
 * The `fleet` section: this node's membership of a fleet whose shared config lives in etcd. Node
 * local like `management` and `rundir`: it stays in each node's own file.
 */
export const fleetSchema = z
  .strictObject({
    name: idPattern.meta({
      description: "The fleet's name: its config is /knot-resolver/<name>/config in etcd.",
    }),
    node: idPattern.meta({ description: "This node's name, unique in the fleet." }),
    etcd: etcdSchema,
    rollout: rolloutSchema.meta({
      description:
        "How the elected manager rolls a new revision out (the leader's settings count): canary, soak, waves.",
    }),
    "lease-ttl": timeUnit.default("10s").meta({
      description: "TTL of the lease this node's state key lives on: a dead node disappears after it.",
    }),
    "resync-interval": timeUnit.default("10s").meta({
      description: "How often the node reads the fleet's keys besides watching them (and retries etcd).",
    }),
  })
  .optional()
  .meta({
    description: `${EXTENSION} join a fleet of resolvers that share one config in etcd, rolled out node by node (see the README's fleet section). Without it the resolver runs on its own files only.`,
  });

export type FleetConfig = NonNullable<z.output<typeof fleetSchema>>;
