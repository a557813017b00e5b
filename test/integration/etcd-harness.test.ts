/** The etcd cluster of the harness (harness/etcd.ts): real etcd 3.4 members on loopback. */
import { jest } from "@jest/globals";
import { pidsMentioning } from "../../harness/procs.js";
import { startEtcdCluster, type EtcdCluster } from "../../harness/etcd.js";

jest.setTimeout(90_000);

let etcd: EtcdCluster;
beforeAll(async () => {
  etcd = await startEtcdCluster(3);
});
afterAll(async () => {
  await etcd?.stopAll();
});

it("runs three members on distinct loopback ports that agree on what was written", async () => {
  expect(new Set(etcd.endpoints).size).toBe(3);
  for (const e of etcd.endpoints) expect(e).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  const members = await etcd.etcdctl("member", "list");
  expect(members.trim().split("\n")).toHaveLength(3);
  await etcd.etcdctl("put", "/krm-test/k", "v1");
  expect(await etcd.etcdctl("get", "--print-value-only", "/krm-test/k")).toBe("v1\n");
});

it("keeps a quorum when one member is killed with -9, and takes it back on its data", async () => {
  await etcd.kill(0);
  expect(etcd.running(0)).toBe(false);
  // The two left elect a leader (if the killed one led) and take writes again.
  await etcd.waitHealthy(10_000);
  await etcd.etcdctl("put", "/krm-test/k", "v2");
  etcd.start(0);
  await etcd.waitHealthy();
  const only0 = await etcd.etcdctl(
    `--endpoints=${etcd.endpoints[0]}`,
    "get",
    "--print-value-only",
    "/krm-test/k",
  );
  expect(only0).toBe("v2\n");
});

it("stops every member (nothing left running) and starts again with the data kept", async () => {
  await etcd.stopAll();
  expect(pidsMentioning(etcd.dir)).toEqual([]);
  await expect(etcd.etcdctl("get", "/krm-test/k")).rejects.toThrow();
  await etcd.startAll();
  expect(await etcd.etcdctl("get", "--print-value-only", "/krm-test/k")).toBe("v2\n");
});
