import { SerialQueue } from "../../../lib/utils/serial-queue.js";

const tick = () => new Promise((r) => setTimeout(r, 2));

describe("SerialQueue", () => {
  it("runs jobs one at a time, in the order they were queued", async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const job = (name: string) => async () => {
      log.push(`start ${name}`);
      await tick();
      log.push(`end ${name}`);
      return name;
    };
    expect(await Promise.all([q.run(job("a")), q.run(job("b")), q.run(job("c"))])).toEqual(["a", "b", "c"]);
    expect(log).toEqual(["start a", "end a", "start b", "end b", "start c", "end c"]);
  });

  it("gives a failure to its caller only, and goes on with the next job", async () => {
    const q = new SerialQueue();
    const failing = q.run(async () => {
      throw new Error("no");
    });
    const next = q.run(async () => "yes");
    await expect(failing).rejects.toThrow("no");
    await expect(next).resolves.toBe("yes");
  });

  it("is busy while a job runs, not while jobs only wait", async () => {
    const q = new SerialQueue();
    expect(q.busy).toBe(false);
    let release: () => void = () => undefined;
    const running = q.run(() => new Promise<void>((r) => (release = r)));
    await tick();
    expect(q.busy).toBe(true);
    release();
    await running;
    expect(q.busy).toBe(false);
  });
});
