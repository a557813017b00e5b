import { callChunkOneLine, readLuaFile } from "../../datamodel/lua-files.js";
import { luaNum } from "../../utils/lua-literal.js";

const RETIRE_CHUNK = readLuaFile("controller/kresd/retire.lua");

/**
 * Run in a retiring worker: it stops reading UDP at once and closes its own copies of the
 * listening endpoints (not the control socket) closeAfterMs later, when its loop has turned and
 * sent the answers it had queued; legacy DoH servers are paused and their listeners shut down
 * instead, so the connections they hold are still served (see retire.lua). Answers the endpoints
 * as "family:port" words (e.g. "inet4:53 inet6:853"), so its client connections can be told
 * apart, then "udp:stopped" or "udp:closed (why)", then "doh-legacy:N" (servers paused) or
 * "doh-legacy:closed (why)".
 */
export function retireLua(closeAfterMs = 10): string {
  return callChunkOneLine(RETIRE_CHUNK, [luaNum(closeAfterMs)]);
}

/**
 * How many requests a retiring worker still resolves; 1 until its endpoints are closed, so it is
 * never stopped with a listener still open.
 */
export const RETIRING_BUSY_LUA = "kres_mgr_retire_closed == false and 1 or worker.stats().concurrent";
