/**
 * A node's health as the fleet sees it: every configured worker running and responsive, the
 * resolver answering a probe query, no worker restarted behind the manager's back (a crash), and
 * the node still running the fleet revision it applied (not rolled back by itself, not changed
 * locally).
 */
import type { KresConfig } from "../../datamodel/config.js";
import type { ManagedProcess } from "../kres-manager.js";
import { probe, probeTarget } from "./probe.js";
import type { NodeHealth } from "./records.js";

export const PROBE_TIMEOUT_MS = 1000;

export interface HealthSources {
  config(): KresConfig;
  /** ETag of the running config. */
  etag(): string;
  processes(): Promise<ManagedProcess[]>;
  /** The last worker failure the manager's watchdog saw. */
  lastFailure(): { at: number; what: string } | undefined;
}

export class HealthCheck {
  // Failures before this time belong to an earlier revision.
  private since = Date.now();

  constructor(private readonly sources: HealthSources) {}

  /** A new revision starts with a clean record. */
  reset(): void {
    this.since = Date.now();
  }

  /** `expectedEtag`: the ETag of the fleet revision applied, when one was. */
  async check(expectedEtag?: string): Promise<NodeHealth> {
    const problems: string[] = [];
    const cfg = this.sources.config();
    const etag = this.sources.etag();
    const workers = (await this.sources.processes()).filter(
      (p) => p.kind === "kresd" && p.id !== undefined && p.id < cfg.workers,
    );
    const up = workers.filter((p) => p.state === "running" && !p.unresponsive);
    if (up.length < cfg.workers)
      problems.push(`${up.length} of ${cfg.workers} workers running and responsive`);
    const failure = this.sources.lastFailure();
    if (failure && failure.at >= this.since)
      problems.push(`a worker failed since this revision was applied: ${failure.what}`);
    const target = probeTarget(cfg);
    if (target && !(await probe(target, PROBE_TIMEOUT_MS)))
      problems.push(
        `no answer to a probe query on ${target.addr}@${target.port} within ${PROBE_TIMEOUT_MS} ms`,
      );
    if (expectedEtag !== undefined && etag !== expectedEtag)
      problems.push(
        `runs another configuration (ETag ${etag}) than the fleet revision it applied (ETag ${expectedEtag}): rolled back by itself or changed locally`,
      );
    return { ok: problems.length === 0, problems, at: new Date().toISOString() };
  }
}
