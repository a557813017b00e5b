/**
 * Runs async jobs one at a time, in the order they were queued. A job that fails does not stop
 * the ones after it; its caller gets the failure.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private running = false;
  private count = 0;

  /** Jobs not finished yet: the running one and those waiting. */
  get size(): number {
    return this.count;
  }

  /** A job is running now (queued ones do not count). */
  get busy(): boolean {
    return this.running;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    this.count++;
    const start = async () => {
      this.running = true;
      try {
        return await job();
      } finally {
        this.running = false;
        this.count--;
      }
    };
    const result = this.tail.then(start, start);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
