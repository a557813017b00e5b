import { luaBool, luaNum, luaStr } from "../../utils/lua-literal.js";
import { callChunkOneLine, readLuaFile } from "../lua-files.js";
import { absoluteName } from "../types/index.js";
import { RR_TYPES, type CacheClearRequest } from "./schema.js";

// cache-clear.lua: the clear, a commit whatever happened, the result as JSON or the error.
const CACHE_CLEAR_LUA = readLuaFile("datamodel/cache-clear/cache-clear.lua");

/** Ends the worker's open cache transaction (commits a write one, releases a read one). */
export const KR_CACHE_COMMIT = `require(${luaStr("ffi")}).C.kr_cache_commit(kres.context().cache)`;

/**
 * One line of Lua (an expression, as the control socket wants) that runs a cache clear request on
 * a kresd 5.6 worker: `cache.clear(name, exact_name, rr_type, chunk_size)` and its result as JSON.
 * kresd refuses a chunk size together with an RR type (that removes one RR set at once), so it
 * gets nil then.
 */
export function cacheClearLua(req: CacheClearRequest): string {
  const type = req["rr-type"];
  return callChunkOneLine(CACHE_CLEAR_LUA, [
    req.name === undefined ? "nil" : luaStr(absoluteName(req.name)),
    luaBool(req["exact-name"]),
    type === undefined ? "nil" : luaNum(RR_TYPES[type]),
    type === undefined ? luaNum(req["chunk-size"]) : "nil",
  ]);
}
