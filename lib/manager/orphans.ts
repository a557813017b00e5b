/**
 * What start-up does with the processes a crashed run left on the rundir (controller's orphans.ts
 * finds and stops them): they are stopped in two steps, so that DNS keeps being answered as long
 * as it can be.
 *
 * 1. Before supervisord is started (no supervisord serves the rundir): the orphaned manager and
 *    cache-gc, which answer no DNS (and a manager left running would talk to the new supervisord
 *    on the same socket path).
 * 2. Under the new supervisord, just before the manager starts its workers: the orphaned kresd
 *    workers, which kept answering until then. They hold the listening sockets (supervisord binds
 *    them without SO_REUSEPORT), so the new workers can bind them only once these are gone: the gap
 *    is their exit plus one worker's start, instead of the whole start-up of supervisord and the
 *    manager. bench/orphans.ts measures both orders.
 */
import {
  describeOrphans,
  findOrphans,
  removeStaleControlSockets,
  stopOrphans,
  type OrphanKind,
} from "../controller/supervisord/orphans.js";
import { logger } from "./logger.js";

/** How long an orphan has to leave after SIGTERM before it gets SIGKILL. */
export const ORPHAN_GRACE_MS = 5000;

/**
 * Stops the orphans of `kinds` on `rundir`, saying in one line what was found and in one what came
 * of it; then removes the control sockets of workers that are gone. `found` words the first line.
 * Throws OrphansNotStopped when some would not go.
 */
export async function stopLeftovers(
  rundir: string,
  kinds: readonly OrphanKind[],
  found: string,
): Promise<void> {
  const all = findOrphans(rundir);
  const orphans = all.filter((o) => kinds.includes(o.kind));
  if (all.length > 0) logger.warning(`${found}: ${describeOrphans(all)}`);
  if (orphans.length > 0) {
    const { terminated, killed } = await stopOrphans(orphans, { graceMs: ORPHAN_GRACE_MS });
    const how = [
      terminated.length > 0 && `${describeOrphans(terminated)} stopped by SIGTERM`,
      killed.length > 0 && `${describeOrphans(killed)} killed (SIGKILL after ${ORPHAN_GRACE_MS} ms)`,
    ].filter(Boolean);
    logger.notice(`orphans of an earlier run: ${how.join("; ")}`);
  }
  const removed = removeStaleControlSockets(rundir);
  if (removed.length > 0) logger.info(`removed stale control sockets: ${removed.join(", ")}`);
}
