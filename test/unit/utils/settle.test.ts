import { jest } from "@jest/globals";
import { Settler } from "../../../lib/utils/settle.js";

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** A job that records when it starts and ends; each run takes `ms` of fake time. */
function recorder(ms = 0) {
  const log: string[] = [];
  const job = async () => {
    log.push(`start ${Date.now()}`);
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
    log.push(`end ${Date.now()}`);
  };
  return { log, job };
}

describe("Settler", () => {
  it("runs once, quietMs after the last poke of a burst", async () => {
    const t0 = Date.now();
    const { log, job } = recorder();
    const s = new Settler(500, job);
    s.poke();
    await jest.advanceTimersByTimeAsync(300);
    s.poke();
    await jest.advanceTimersByTimeAsync(300);
    s.poke();
    await jest.advanceTimersByTimeAsync(499);
    expect(log).toEqual([]);
    await jest.advanceTimersByTimeAsync(1);
    expect(log).toEqual([`start ${t0 + 1100}`, `end ${t0 + 1100}`]);
    await jest.advanceTimersByTimeAsync(5000);
    expect(log).toHaveLength(2);
  });

  it("never overlaps runs: a poke during a run waits again after it", async () => {
    const t0 = Date.now();
    const { log, job } = recorder(1000);
    const s = new Settler(100, job);
    s.poke();
    await jest.advanceTimersByTimeAsync(200); // running since t0+100
    s.poke();
    s.poke();
    await jest.advanceTimersByTimeAsync(5000);
    expect(log).toEqual([`start ${t0 + 100}`, `end ${t0 + 1100}`, `start ${t0 + 1200}`, `end ${t0 + 2200}`]);
  });

  it("runs nothing more once stopped", async () => {
    const { log, job } = recorder();
    const s = new Settler(100, job);
    s.poke();
    s.stop();
    s.poke();
    await jest.advanceTimersByTimeAsync(1000);
    expect(log).toEqual([]);
  });

  it("goes on after a job that failed", async () => {
    let runs = 0;
    const s = new Settler(100, async () => {
      runs++;
      throw new Error("no");
    });
    s.poke();
    await jest.advanceTimersByTimeAsync(100);
    s.poke();
    await jest.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
  });
});
