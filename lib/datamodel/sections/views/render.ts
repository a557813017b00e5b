import type { KresConfig } from "../../config.js";
import { parseNetwork } from "../../types/index.js";
import type { ViewConfig } from "./schema.js";
import { luaStr, luaValue, type LuaValue } from "../../../utils/lua-literal.js";
import { callChunk, readLuaFile } from "../../lua-files.js";

/** Key of the per-request Lua table (req:vars()) holding the tags of the client's view. */
export const REQUEST_TAGS_VAR = "krm_tags";

// Static Lua: views.lua, run once per worker (see that file for what it does and why).
const VIEWS_LUA = readLuaFile("datamodel/sections/views/views.lua");

/** 'addr/len' with the prefix length always written out, and that length. */
function subnet(s: string): { text: string; prefix: number } {
  const n = parseNetwork(s);
  if (typeof n === "string") throw new TypeError(n);
  const addr = s.split("/")[0] as string;
  return { text: `${addr}/${n.prefix}`, prefix: n.prefix };
}

function spec(view: ViewConfig): LuaValue {
  const flags: string[] = [];
  if (!view.options.minimize) flags.push("NO_MINIMIZE");
  if (!view.options.dns64) flags.push("DNS64_DISABLE");
  return {
    flags,
    answer: view.tags?.length ? undefined : view.answer,
    tags: view.tags?.length ? view.tags : undefined,
    dst: view["dst-subnet"] === undefined ? undefined : subnet(view["dst-subnet"]).text,
    protocols: view.protocols,
  };
}

export function renderViews(cfg: KresConfig): string {
  const views = cfg.views ?? [];
  if (views.length === 0) return "";
  // One view:addr() per subnet, most specific first; ties keep the config order.
  const entries = views.flatMap((view, index) =>
    view.subnets.map((s, order) => ({ ...subnet(s), index, order })),
  );
  entries.sort((a, b) => b.prefix - a.prefix || a.index - b.index || a.order - b.order);
  const specs = views.map(spec);
  const lines = [
    // Before policy, so that a refused client gets no answer from any policy rule.
    `modules.load(${luaStr("view < policy")})`,
    `local krm_views = ${callChunk(VIEWS_LUA, [luaStr(REQUEST_TAGS_VAR)])}`,
    ...entries.map(
      (e) => `view:addr(${luaStr(e.text)}, krm_views.rule(${luaValue(specs[e.index] ?? null)}))`,
    ),
  ];
  return lines.join("\n");
}
