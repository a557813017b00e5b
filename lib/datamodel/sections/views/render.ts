import type { KresConfig } from "../../config.js";
import { parseNetwork } from "../../types/index.js";
import type { ViewConfig } from "./schema.js";
import { luaStr, luaValue, type LuaValue } from "../../../utils/lua-literal.js";

/** Key of the per-request Lua table (req:vars()) holding the tags of the client's view. */
export const REQUEST_TAGS_VAR = "krm_tags";

// Static Lua (no config value inside): builds the match callback and action of one view for
// kresd 5.6's view module. The view module tries its rules in the order added and stops at the
// first action that returns a state, so each view's action ends evaluation (as upstream, where
// exactly one view applies to a request) and rules are added most specific subnet first.
const VIEWS_LUA = String.raw`local krm_views = (function()
	local TAGS_VAR = ${luaStr(REQUEST_TAGS_VAR)}
	local M = {}
	local function protocol(req)
		local f = req.qsource.flags
		if f.http then return 'doh' elseif f.tls then return 'dot' elseif f.tcp then return 'tcp53' end
		return 'udp53'
	end
	local function set_of(list)
		if list == nil then return nil end
		local set = {}
		for _, item in ipairs(list) do set[item] = true end
		return set
	end
	function M.rule(spec)
		local flags = #spec.flags > 0 and policy.FLAGS(spec.flags) or nil
		local final = policy.PASS
		if spec.answer == 'refused' then final = policy.REFUSE
		elseif spec.answer == 'noanswer' then final = policy.NO_ANSWER end
		local tags = set_of(spec.tags)
		local function action(state, req)
			if flags then flags(state, req) end
			if tags then req:vars()[TAGS_VAR] = tags end
			return final(state, req)
		end
		local dst = spec.dst and view.rule_dst(true, spec.dst)
		local protocols = set_of(spec.protocols)
		return function(req, qry)
			if dst and not dst(req, qry) then return nil end
			if protocols and not protocols[protocol(req)] then return nil end
			return action
		end
	end
	return M
end)()`;

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
    VIEWS_LUA,
    ...entries.map(
      (e) => `view:addr(${luaStr(e.text)}, krm_views.rule(${luaValue(specs[e.index] ?? null)}))`,
    ),
  ];
  return lines.join("\n");
}
