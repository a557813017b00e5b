/**
 * Cache clearing for `POST /cache/clear`: the workers share one cache, so one running worker runs
 * the clear, sent to it by the controller's command().
 */
import { cacheClearLua } from "../datamodel/cache-clear/render.js";
import {
  cacheClearResultSchema,
  parseCacheClearRequest,
  type CacheClearResult,
} from "../datamodel/cache-clear/schema.js";
import type { SubprocessController } from "../controller/interface.js";
import { luaStringAnswerText } from "../utils/krprint.js";
import { ManagerError } from "./errors.js";
import type { ManagedProcess } from "./kres-manager.js";
import { logger } from "./logger.js";

/** How long the worker may take for one round (at most CHUNK_SIZE_MAX records). */
export const CACHE_CLEAR_TIMEOUT_MS = 10_000;

/**
 * The clear did not run, or the worker refused it; the message says which worker and why (HTTP 500,
 * told to the client: it is about its request).
 */
export class CacheClearFailed extends ManagerError {
  override readonly status = 500;

  override get expose(): boolean {
    return true;
  }
}

export interface CacheClearTarget {
  /** Every process the controller reports (manager.processes()). */
  processes: readonly ManagedProcess[];
  /** Worker slots in use (config `workers`): the canary and leftovers above them are not asked. */
  workers: number;
  /** Sends the clear to the worker: the controller's command(). */
  command: SubprocessController["command"];
}

/**
 * The running worker with the lowest slot below `workers`, if any; one that misses its liveness
 * checks would only make the clear wait for its timeout.
 */
export function pickWorker(
  processes: readonly ManagedProcess[],
  workers: number,
): ManagedProcess | undefined {
  return processes
    .filter((p) => p.kind === "kresd" && p.state === "running" && p.pid !== undefined && !p.unresponsive)
    .filter((p) => p.id !== undefined && p.id < workers)
    .sort((a, b) => (a.id as number) - (b.id as number))[0];
}

/**
 * Validates `body` (InvalidCacheClearRequest when it is wrong, before any worker is asked) and runs
 * the clear on one worker; returns what kresd reported for the first round.
 */
export async function clearCache(
  target: CacheClearTarget,
  body: unknown,
  timeoutMs = CACHE_CLEAR_TIMEOUT_MS,
): Promise<CacheClearResult> {
  const request = parseCacheClearRequest(body);
  const worker = pickWorker(target.processes, target.workers);
  if (!worker) throw new CacheClearFailed("no kresd worker is running to clear the cache");
  const lua = cacheClearLua(request);
  let answer: string;
  try {
    answer = await target.command(worker, lua, { timeoutMs });
  } catch (e) {
    throw new CacheClearFailed(`${worker.name}: ${(e as Error).message}`);
  }
  // A Lua error comes back as its message, not as the string tojson() makes.
  let text: string;
  try {
    text = luaStringAnswerText(answer);
  } catch {
    throw new CacheClearFailed(`${worker.name} refused to clear the cache: ${answer}`);
  }
  const result = cacheClearResultSchema.safeParse(parseJson(text));
  if (!result.success) throw new CacheClearFailed(`${worker.name} gave an unexpected answer: ${text}`);
  logger.info(`cache cleared on ${worker.name} (${JSON.stringify(request)}): ${text}`);
  return result.data;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
