/**
 * KRES_NODE_INSPECT runs the manager (and kresctl) under `node --inspect`, which lets whoever
 * connects run code as that process, without authentication. The launchers refuse a non-loopback
 * address before node opens it (unless KRES_NODE_INSPECT_FORCE=1); the process itself checks the
 * address node really opened (NODE_OPTIONS can open one too) and warns at start. Port 0: node
 * picks a free one.
 */
import { jest } from "@jest/globals";
import * as path from "node:path";
import { KNOT_RESOLVER, KRESCTL, run, tmpDir } from "../../harness/index.js";
import { startResolver } from "../../harness/resolver.js";

jest.setTimeout(120_000);

const WARNING =
  /warning: node inspector open on 127\.0\.0\.1:\d+ \(KRES_NODE_INSPECT or --inspect\): anyone who can connect to it runs code as this process, without authentication/;

/** knot-resolver on a config file that does not exist: it stops right after the inspector check. */
function manager(env: NodeJS.ProcessEnv) {
  const missing = path.join(tmpDir("krm-inspect-"), "missing.yaml");
  return run(KNOT_RESOLVER, ["-c", missing], { env: { ...process.env, NODE_OPTIONS: "", ...env } });
}

describe("KRES_NODE_INSPECT", () => {
  it("a port or a loopback address: the manager warns at start, then goes on", async () => {
    for (const inspect of ["0", "127.0.0.1:0"]) {
      const res = await manager({ KRES_NODE_INSPECT: inspect });
      expect(res.stdout).toMatch(WARNING);
      expect([res.code, res.stderr]).toEqual([1, expect.stringContaining("missing.yaml: cannot read")]);
    }
  });

  it("a non-loopback address: refused by the launcher before node opens it", async () => {
    for (const inspect of ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"]) {
      const res = await manager({ KRES_NODE_INSPECT: inspect });
      expect(res.code).toBe(1);
      expect(res.stderr).toBe(
        `knot-resolver: KRES_NODE_INSPECT=${inspect} is not a loopback address: anyone who can connect to it ` +
          "runs code as this process, without authentication; refused (KRES_NODE_INSPECT_FORCE=1 allows it)\n",
      );
    }
  });

  it("a non-loopback address with KRES_NODE_INSPECT_FORCE=1: opened, with the warning", async () => {
    const res = await manager({ KRES_NODE_INSPECT: "0.0.0.0:0", KRES_NODE_INSPECT_FORCE: "1" });
    expect(res.stdout).toMatch(/warning: node inspector open on 0\.0\.0\.0:\d+ /);
    expect(res.stderr).toContain("missing.yaml: cannot read");
  });

  it("an inspector opened another way (NODE_OPTIONS) on a non-loopback address: the manager refuses it", async () => {
    const res = await manager({ NODE_OPTIONS: "--inspect=0.0.0.0:0" });
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(
      /knot-resolver: node inspector on 0\.0\.0\.0:\d+ \(KRES_NODE_INSPECT or --inspect\), not a loopback address: .*refused/,
    );
    expect(res.stderr).not.toContain("missing.yaml");
  });

  it("kresctl: the same launcher rule and the warning on stderr", async () => {
    const env = { ...process.env, NODE_OPTIONS: "" };
    const warned = await run(KRESCTL, ["--version"], { env: { ...env, KRES_NODE_INSPECT: "0" } });
    expect([warned.code, warned.stdout.trim()]).toEqual([0, expect.stringMatching(/^\d+\.\d+\.\d+$/)]);
    expect(warned.stderr).toMatch(/kresctl: node inspector open on 127\.0\.0\.1:\d+ /);
    const refused = await run(KRESCTL, ["--version"], { env: { ...env, KRES_NODE_INSPECT: "0.0.0.0:0" } });
    expect([refused.code, refused.stdout]).toEqual([1, ""]);
    expect(refused.stderr).toMatch(/^kresctl: KRES_NODE_INSPECT=0\.0\.0\.0:0 is not a loopback address/);
  });

  it("a whole resolver: both runs of the manager (before supervisord, under it) warn", async () => {
    const r = await startResolver({ env: { KRES_NODE_INSPECT: "127.0.0.1:0" }, config: { workers: 1 } });
    try {
      const warnings = r.log.split("\n").filter((l) => /node inspector open on 127\.0\.0\.1:\d+/.test(l));
      // The first run writes to the launcher's stdout, the supervised one through supervisord (manager[pid]).
      expect(warnings).toEqual([
        expect.stringMatching(WARNING),
        expect.stringMatching(/manager\[\d+\].*warning: node inspector open/),
      ]);
    } finally {
      await r.stop();
    }
  });
});
