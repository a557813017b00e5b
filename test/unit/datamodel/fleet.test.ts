/** The `fleet` section (an extension) and the fleet document merged over a node's own file. */
import * as path from "node:path";
import { ConfigValidationError } from "../../../lib/datamodel/errors.js";
import { validateConfig } from "../../../lib/datamodel/load.js";
import {
  mergeFleetDocument,
  NODE_LOCAL_POINTERS,
  parseFleetDocument,
} from "../../../lib/datamodel/sections/fleet/merge.js";
import { section, testDirs } from "../../../harness/validation.js";

const { tmp, rundir } = testDirs("kr-fleet-unit-");
const { valid: config, problems } = section("fleet", { rundir, ctx: { strict: false, baseDir: tmp } });

const minimal = { name: "edge", node: "n1", etcd: { endpoints: ["http://127.0.0.1:2379"] } };

describe("the fleet section", () => {
  it("is absent by default: a resolver on its own", () => {
    expect(config(undefined).fleet).toBeUndefined();
  });

  it("takes a name, a node and endpoints, with rollout and timing defaults", () => {
    expect(config(minimal).fleet).toEqual({
      ...minimal,
      rollout: { "soak-time": "30s", "wave-size": 10, "apply-timeout": "120s" },
      "lease-ttl": "10s",
      "resync-interval": "10s",
    });
  });

  it("names what is wrong: names that cannot be etcd key parts, endpoints, half-given credentials", () => {
    expect(problems({ ...minimal, name: "Edge/1" }).map((p) => p.pointer)).toEqual(["/fleet/name"]);
    expect(problems({ ...minimal, etcd: { endpoints: [] } })).toEqual([
      { pointer: "/fleet/etcd/endpoints", message: expect.stringContaining("at least one") },
    ]);
    expect(problems({ ...minimal, etcd: { endpoints: ["127.0.0.1:2379"] } })[0]?.pointer).toBe(
      "/fleet/etcd/endpoints/0",
    );
    expect(problems({ ...minimal, etcd: { ...minimal.etcd, username: "root" } })).toEqual([
      { pointer: "/fleet/etcd/password", message: "'username' and 'password' go together" },
    ]);
    expect(problems({ ...minimal, etcd: { ...minimal.etcd, "ca-file": path.join(tmp, "ca.pem") } })).toEqual([
      { pointer: "/fleet/etcd/endpoints/0", message: "TLS options are set: the endpoint must be https://" },
    ]);
    expect(problems({ ...minimal, rollout: { "wave-size": 0 } })[0]?.pointer).toBe(
      "/fleet/rollout/wave-size",
    );
  });
});

describe("the fleet document", () => {
  const local = {
    rundir,
    workers: 1,
    management: { "unix-socket": path.join(rundir, "api.sock") },
    network: { listen: [{ interface: "127.0.0.1@5353" }], "edns-buffer-size": { upstream: "1232B" } },
    cache: { storage: path.join(rundir, "cache"), "size-max": "10M" },
    fleet: minimal,
  };

  it("is merged over the node's own file, mapping by mapping, and validated as one config", () => {
    const fleet = parseFleetDocument(
      "workers: 2\nnetwork:\n  edns-buffer-size:\n    downstream: 1232B\ncache:\n  size-max: 20M\n",
    );
    const merged = mergeFleetDocument(local, fleet);
    expect(merged).toEqual({
      ...local,
      workers: 2,
      network: { ...local.network, "edns-buffer-size": { upstream: "1232B", downstream: "1232B" } },
      cache: { storage: local.cache.storage, "size-max": "20M" },
    });
    const cfg = validateConfig(merged, { strict: false, baseDir: tmp });
    expect(cfg.workers).toBe(2);
    expect(cfg.fleet?.node).toBe("n1");
  });

  it("may not set node-local keys: each one is named", () => {
    let caught: unknown;
    try {
      parseFleetDocument(
        "rundir: /tmp\nnetwork:\n  listen: []\nmanagement:\n  interface: 127.0.0.1@5000\nworkers: 2\n",
      );
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ConfigValidationError);
    expect((caught as ConfigValidationError).problems.map((p) => p.pointer)).toEqual([
      "/rundir",
      "/management",
      "/network/listen",
    ]);
    expect(NODE_LOCAL_POINTERS).toEqual(expect.arrayContaining(["/fleet", "/cache/storage"]));
  });

  it("is empty or a mapping; anything else is refused, and bad YAML names its position", () => {
    expect(parseFleetDocument("")).toEqual({});
    expect(() => parseFleetDocument("- workers\n")).toThrow(/must be a mapping/);
    expect(() => parseFleetDocument("workers: [\n")).toThrow(/the fleet document: invalid YAML.*line/);
  });

  it("leaves the node's own keys as its file has them even if a merged document carried them", () => {
    const merged = mergeFleetDocument(local, { rundir: "/elsewhere", workers: 3 }) as Record<string, unknown>;
    expect(merged.rundir).toBe(rundir);
    expect(merged.workers).toBe(3);
  });
});
