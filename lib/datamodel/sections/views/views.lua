-- Views for kresd 5.6's view module (see render.ts for how it is called). A chunk run once per
-- worker with the request-tags variable name; returns { rule = function(spec) }, which builds the
-- match callback and action of one view. The view module tries its rules in the order added and
-- stops at the first action that returns a state, so each view's action ends evaluation (as
-- upstream, where exactly one view applies to a request) and rules are added most specific subnet
-- first.
local TAGS_VAR = ...
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
