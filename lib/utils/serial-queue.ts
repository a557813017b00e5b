/**
 * Runs async jobs one at a time, in the order they were queued. A job that fails does not stop
 * the ones after it; its caller gets the failure.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();
  private running = false;

  /** A job is running now (queued ones do not count). */
  get busy(): boolean {
    return this.running;
  }

  run<T>(job: () => Promise<T>): Promise<T> {
    const start = async () => {
      this.running = true;
      try {
        return await job();
      } finally {
        this.running = false;
      }
    };
    const result = this.tail.then(start, start);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
