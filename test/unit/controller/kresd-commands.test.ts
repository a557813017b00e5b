/**
 * The controller's command() for kresd workers: RUNDIR/control/<pid>, one kept-open connection per
 * worker, WorkerGone when there is no worker to ask. The workers are fake control sockets.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { WorkerGone } from "../../../lib/controller/interface.js";
import { KresdCommands } from "../../../lib/controller/kresd/commands.js";
import { FakeControlSocket } from "../../../harness/fake-control-socket.js";
import { testRundir } from "../../../harness/validation.js";

const rundir = testRundir("krm-commands-");
fs.mkdirSync(path.join(rundir, "control"));

/** A fake worker answering each line with `=<line>`. */
const fakeWorker = (pid: number) =>
  new FakeControlSocket(path.join(rundir, "control", String(pid)), { answer: (line) => `=${line}` });

const control = new KresdCommands(rundir);
afterAll(() => control.close());

/** Whether the pool keeps a connection to that worker's socket (private state, read for the test). */
const keeps = (pid: number): boolean =>
  (control as unknown as { pool: { idle: Map<string, unknown> } }).pool.idle.has(
    path.join(rundir, "control", String(pid)),
  );

describe("KresdCommands", () => {
  it("asks a worker on its control socket, over one kept connection", async () => {
    const w = fakeWorker(2001);
    await w.listen();
    const worker = { name: "kresd:kresd0", pid: 2001 };
    expect(await control.command(worker, "1")).toBe("=1");
    expect(await control.command(worker, "worker.stats().concurrent")).toBe("=worker.stats().concurrent");
    expect(w.connections).toBe(1);
    await w.close();
  });

  it("forgets a kept connection once its worker exits", async () => {
    const w = fakeWorker(2011);
    await w.listen();
    expect(await control.command({ name: "kresd:kresd0", pid: 2011 }, "1")).toBe("=1");
    expect(keeps(2011)).toBe(true);
    await w.close();
    await new Promise((r) => setTimeout(r, 50));
    expect(keeps(2011)).toBe(false);
  });

  it("rejects with WorkerGone for a worker without a process or without a control socket", async () => {
    await expect(control.command({ name: "kresd:kresd1", pid: undefined }, "1")).rejects.toThrow(
      new WorkerGone("kresd:kresd1: not running"),
    );
    await expect(control.command({ name: "kresd:kresd1", pid: 2029 }, "1")).rejects.toBeInstanceOf(
      WorkerGone,
    );
  });

  it("rejects Lua that spans lines", async () => {
    const w = fakeWorker(2031);
    await w.listen();
    await expect(control.command({ name: "kresd:kresd0", pid: 2031 }, "a\nb")).rejects.toThrow(/one line/);
    await w.close();
  });

  it("after a timeout, asks afresh: the late answer is never taken for the next question's", async () => {
    // The first line is answered after 300 ms, long after its 50 ms timeout.
    const w = new FakeControlSocket(path.join(rundir, "control", "2041"), {
      answer: (line) => `=${line}`,
      delayMs: (line) => (line === "slow" ? 300 : 0),
    });
    await w.listen();
    const worker = { name: "kresd:kresd0", pid: 2041 };
    await expect(control.command(worker, "slow", { timeoutMs: 50 })).rejects.toThrow(
      /no answer within 50 ms/,
    );
    expect(keeps(2041)).toBe(false);
    expect(await control.command(worker, "next")).toBe("=next");
    await new Promise((r) => setTimeout(r, 400)); // the late answer went out (to a closed connection)
    expect(await control.command(worker, "after")).toBe("=after");
    expect(w.connections).toBe(2);
    await w.close();
  });
});
