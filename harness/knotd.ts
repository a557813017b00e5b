import * as fs from "node:fs";
import * as path from "node:path";
import { kdigAt, type KdigResult } from "./kdig.js";
import { freePort } from "./ports.js";
import { GroupProcess, waitFor } from "./procs.js";
import { tmpDir } from "./tmp.js";

export const KNOTD = "/usr/sbin/knotd";

export interface KnotdOptions {
  /** Zones served: name → zone file text (a $ORIGIN is not needed: the name is the origin). */
  zones: Record<string, string>;
  /** Port on 127.0.0.1 (UDP and TCP). Default: a free port. */
  port?: number;
  /** Extra text appended to knot.conf (e.g. more sections). */
  extraConfig?: string;
  /** How long knotd may take to load every zone (default 20 s). */
  readyTimeoutMs?: number;
}

/** A running authoritative knotd that answers for every zone it was given. */
export class Knotd extends GroupProcess {
  constructor(
    readonly dir: string,
    readonly configFile: string,
    readonly port: number,
    readonly zones: readonly string[],
  ) {
    super(KNOTD, ["-c", configFile], { cwd: dir, name: "knotd" });
  }

  /** kdig against this knotd: `query("www.example.test", "A")`. */
  query(...args: string[]): Promise<KdigResult> {
    return kdigAt(this.port, ...args);
  }
}

const q = (s: string): string => JSON.stringify(s); // a double-quoted YAML scalar

function absolute(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/**
 * Starts knotd (own process group) with the given zones in a temporary directory on a free port and
 * waits until each zone answers its SOA authoritatively. Throws with knotd's stderr otherwise.
 */
export async function startKnotd(opts: KnotdOptions): Promise<Knotd> {
  const dir = tmpDir("krm-knotd-");
  const port = opts.port ?? (await freePort());
  const zones = Object.keys(opts.zones).map(absolute);
  const zoneConf = Object.entries(opts.zones).map(([name, text], i) => {
    const file = path.join(dir, `zone-${i}.zone`);
    fs.writeFileSync(file, `$ORIGIN ${absolute(name)}\n${text}\n`);
    return `  - domain: ${q(absolute(name))}\n    file: ${q(file)}\n`;
  });
  const conf = [
    "server:",
    `    rundir: ${q(dir)}`,
    `    listen: ${q(`127.0.0.1@${port}`)}`,
    "log:",
    "  - target: stderr",
    "    any: info",
    "database:",
    `    storage: ${q(path.join(dir, "db"))}`,
    "control:",
    `    listen: ${q(path.join(dir, "knot.sock"))}`,
    "zone:",
    ...zoneConf,
    opts.extraConfig ?? "",
  ].join("\n");
  const configFile = path.join(dir, "knot.conf");
  fs.writeFileSync(configFile, conf);
  fs.mkdirSync(path.join(dir, "db"));
  const knotd = new Knotd(dir, configFile, port, zones);
  try {
    for (const zone of zones) {
      await waitFor(
        `knotd did not serve ${zone}`,
        async () => {
          const r = await kdigAt(port, zone, "SOA", "+timeout=1").catch(() => undefined);
          return r?.rcode === "NOERROR" && r.flags.aa && r.answers.length > 0 ? true : undefined;
        },
        {
          timeoutMs: opts.readyTimeoutMs ?? 20000,
          intervalMs: 50,
          abort: () => (knotd.running ? undefined : "it exited"),
        },
      );
    }
  } catch (e) {
    await knotd.stop();
    throw new Error(`${(e as Error).message}: ${knotd.describe()}`);
  }
  return knotd;
}
