/**
 * Kept-open connections to kresd control sockets, so that asking a worker costs one round trip
 * instead of connect + greeting + answer (the metrics endpoint asks every worker on each scrape).
 * A connection serves one question at a time: concurrent questions to one worker open more
 * connections, and only one idle connection per socket is kept. Any failure or timeout destroys
 * the connection, so a late answer can never be taken for the next question. A kept connection
 * that ends (its worker exited) is forgotten at once: no list of live workers is needed.
 */
import { ControlConnection } from "./control-socket.js";

/** Errors of a kept connection that kresd closed meanwhile; a fresh connection may well work. */
const STALE_CODES = new Set(["EPIPE", "ECONNRESET"]);

export class ControlPool {
  private readonly idle = new Map<string, ControlConnection>();

  /**
   * kresd's answer to one line of Lua on the control socket at `path`, within timeoutMs (connecting
   * included). Rejects with WorkerGone when nothing listens there any more.
   */
  async ask(path: string, line: string, timeoutMs: number): Promise<string> {
    const kept = this.take(path);
    if (kept) {
      try {
        return await this.use(kept, line, timeoutMs);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (!(code !== undefined && STALE_CODES.has(code)) && !/closed by kresd/.test((e as Error).message))
          throw e;
        // kresd closed the kept connection (e.g. the worker restarted): try once afresh.
      }
    }
    const fresh = new ControlConnection(path);
    fresh.unref(); // kept between questions: must not keep the manager alive
    fresh.onClosed = () => {
      if (this.idle.get(path) === fresh) this.idle.delete(path);
    };
    return this.use(fresh, line, timeoutMs);
  }

  /** Closes every kept connection. */
  close(): void {
    for (const c of this.idle.values()) c.destroy();
    this.idle.clear();
  }

  private take(path: string): ControlConnection | undefined {
    const c = this.idle.get(path);
    this.idle.delete(path);
    return c?.idle ? c : undefined;
  }

  private async use(c: ControlConnection, line: string, timeoutMs: number): Promise<string> {
    const answer = await c.ask(line, timeoutMs);
    if (this.idle.has(c.path)) c.destroy();
    else this.idle.set(c.path, c);
    return answer;
  }
}
