import type { KresConfig } from "../../config.js";
import { LOCAL_DATA_TTL_DEFAULT, type LocalDataConfig, type LocalDataRule } from "./schema.js";
import { absoluteName, timeSeconds } from "../../types/index.js";
import { luaStr, luaValue, type LuaValue } from "../../../utils/lua-literal.js";
import { REQUEST_TAGS_VAR } from "../views/render.js";
import { callChunk, readLuaFile } from "../../lua-files.js";

/** Name of the Lua module (a produce layer before the iterator) that answers local data. */
export const LOCAL_DATA_MODULE = "krm_local_data";

// Static Lua: local-data.lua, run once per worker (see that file for what it does and why).
const LOCAL_DATA_LUA = readLuaFile("datamodel/sections/local-data/local-data.lua");

/** TTL in seconds as upstream renders it: unset (or zero) means the 300 s default. */
function ttlOf(value: string | undefined, fallback: number): number {
  const seconds = value === undefined ? 0 : timeSeconds(value);
  return seconds > 0 ? seconds : fallback;
}

function opts(o: {
  ttl: number;
  nodata?: boolean;
  tags?: string[] | undefined;
  log?: string[] | undefined;
}): string {
  const value: { [key: string]: LuaValue } = { ttl: o.ttl };
  if (o.nodata !== undefined) value.nodata = o.nodata;
  if (o.tags !== undefined) value.tags = o.tags;
  if (o.log !== undefined && o.log.length > 0) value.log = Object.fromEntries(o.log.map((k) => [k, true]));
  return luaValue(value);
}

const call = (fn: string, ...args: string[]) => `krm_local_data.${fn}(${args.join(", ")})`;

function renderRule(rule: LocalDataRule, index: number, ld: LocalDataConfig, ttl: number): string[] {
  const o = {
    ttl: ttlOf(rule.ttl, ttl),
    nodata: rule.nodata ?? ld.nodata,
    tags: rule.tags,
  };
  const out: string[] = [];
  if (rule.name) {
    for (const name of rule.name) {
      for (const addr of rule.address ?? []) {
        out.push(call("address", luaStr(absoluteName(name)), luaStr(addr), opts(o)));
      }
      if (rule.subtree) {
        out.push(
          call(
            "subtree",
            luaStr(absoluteName(name)),
            luaStr(rule.subtree),
            opts({ ...o, nodata: undefined }),
          ),
        );
      }
    }
  } else if (rule.file) {
    for (const file of rule.file) out.push(call("hosts", luaStr(file), opts(o)));
  } else if (rule.records) {
    out.push(call("records", luaStr(`/local-data/rules/${index}/records`), luaStr(rule.records), opts(o)));
  }
  return out;
}

export function renderLocalData(cfg: KresConfig): string {
  const ld = cfg["local-data"];
  const out: string[] = [];

  const ttl = ttlOf(ld.ttl, LOCAL_DATA_TTL_DEFAULT);
  const base = { ttl, nodata: ld.nodata };
  const data: string[] = [];
  for (const [name, addrs] of Object.entries(ld.addresses ?? {})) {
    for (const addr of addrs)
      data.push(call("address", luaStr(absoluteName(name)), luaStr(addr), opts(base)));
  }
  for (const file of ld["addresses-files"] ?? []) data.push(call("hosts", luaStr(file), opts(base)));
  if (ld.records) data.push(call("records", luaStr("/local-data/records"), luaStr(ld.records), opts(base)));
  (ld.rules ?? []).forEach((rule, i) => {
    for (const line of renderRule(rule, i, ld, ttl)) data.push(line);
  });
  for (const rpz of ld.rpz ?? []) {
    const watch = rpz.watchdog === "auto" ? "nil" : luaValue(rpz.watchdog);
    data.push(call("rpz", luaStr(rpz.file), opts({ ...base, tags: rpz.tags, log: rpz.log }), watch));
  }
  if (data.length > 0) {
    // (no spread: a list of hundreds of thousands of entries would overflow the call stack)
    out.push(
      `local krm_local_data = ${callChunk(LOCAL_DATA_LUA, [luaStr(REQUEST_TAGS_VAR), luaStr(LOCAL_DATA_MODULE)])}`,
      `modules.load(${luaStr(`${LOCAL_DATA_MODULE} > iterate`)})`,
    );
    for (const line of data) out.push(line);
  }
  return out.join("\n");
}
