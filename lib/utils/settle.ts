/**
 * Runs an async job once things have been quiet for a while (a debounce): every poke() restarts the
 * wait, so a burst of events gives one run after its last event. Runs never overlap; a poke during
 * a run waits again after it, so nothing that happened meanwhile is missed. The job handles its own
 * errors (a rejection is dropped).
 */
export class Settler {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private pokedWhileRunning = false;
  private stopped = false;

  constructor(
    private readonly quietMs: number,
    private readonly job: () => Promise<void>,
  ) {}

  /** Something happened: run the job once nothing more has happened for quietMs. */
  poke(): void {
    if (this.stopped) return;
    if (this.running) {
      this.pokedWhileRunning = true;
      return;
    }
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.fire(), this.quietMs);
  }

  /** No more runs (one under way finishes). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private async fire(): Promise<void> {
    this.timer = undefined;
    this.running = true;
    try {
      await this.job();
    } catch {
      // the job's to report
    } finally {
      this.running = false;
    }
    if (this.pokedWhileRunning) {
      this.pokedWhileRunning = false;
      this.poke();
    }
  }
}
