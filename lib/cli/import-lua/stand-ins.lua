-- Recording stand-ins for kresd 5's Lua API, for `kresctl import-lua` (see sandbox.lua, which
-- runs a kresd.conf with them). A chunk taking (record, where, getenv) and returning the table of
-- globals a kresd.conf sees: `net`, `modules`, `policy`, `view`, `hints`, `cache`, `trust_anchors`,
-- `nsid`, `predict`, `dns64`, `log_level`, `verbose`, `user`, `env`, `event`, `worker`…
--
-- Each stand-in checks its arguments as kresd 5.6 does where a mistake would stop kresd (so a
-- config kresd rejects is rejected here too, with its line) and calls record(op, fields): the
-- translator (translate.ts) turns the recording into the YAML config. Policy actions and filters
-- are data (tables marked `kind`), not the functions kresd builds, so the recording can say what a
-- rule does. Module tables (hints, predict…) exist only once `modules.load` loaded them, as in
-- kresd, where using a module before loading it is an error.
local record, getenv = ...

local S = {}

-- ------------------------------------------------------------------------------------------
-- helpers

local function fail(msg) error(msg, 3) end

-- A domain name as text, absolute and lower-case; wire format (what kresd's todname gives) is
-- decoded, so names built either way compare equal.
local function name_text(n)
	if type(n) ~= 'string' then fail('expected a domain name, got ' .. type(n)) end
	if #n > 0 and string.byte(n, #n) == 0 and string.byte(n, 1) < 64 then
		local labels, i = {}, 1
		while i <= #n do
			local len = string.byte(n, i)
			if len == 0 then break end
			labels[#labels + 1] = string.sub(n, i + 1, i + len)
			i = i + len + 1
		end
		if #labels == 0 then return '.' end
		return string.lower(table.concat(labels, '.')) .. '.'
	end
	if n == '' or n == '.' then return '.' end
	n = string.lower(n)
	if string.sub(n, -1) ~= '.' then n = n .. '.' end
	return n
end

local function names_of(list, what)
	if type(list) ~= 'table' then fail(what .. ': expected a table of domain names, got ' .. type(list)) end
	local out = {}
	for _, n in ipairs(list) do out[#out + 1] = name_text(n) end
	return out
end

local function copy(v, depth)
	depth = depth or 0
	if type(v) ~= 'table' or depth > 20 then return v end
	local out = {}
	for k, x in pairs(v) do out[k] = copy(x, depth + 1) end
	return out
end

local function is_ip(s)
	if type(s) ~= 'string' then return false end
	if string.match(s, '^%d+%.%d+%.%d+%.%d+$') then
		for part in string.gmatch(s, '%d+') do
			if tonumber(part) > 255 then return false end
		end
		return true
	end
	return string.find(s, ':', 1, true) ~= nil and string.match(s, '^[%x:.]+$') ~= nil
end

-- 'addr', 'addr@port' or 'addr#port' as kresd's kr_straddr_split takes them.
local function check_target(t, what)
	if type(t) ~= 'string' then fail(what .. ': expected an address string, got ' .. type(t)) end
	local addr = string.match(t, '^(.-)[@#]%d+$') or t
	if not is_ip(addr) then fail("target '" .. t .. "' is not a valid IP address") end
	return t
end

local function marker(kind, fields)
	fields.kind = kind
	return fields
end

-- ------------------------------------------------------------------------------------------
-- units and small globals kresd defines

S.kB = 1024
S.MB = 1024 * S.kB
S.GB = 1024 * S.MB
S.sec = 1000
S.second = S.sec
S.minute = 60 * S.sec
S.min = S.minute
S.hour = 60 * S.minute
S.day = 24 * S.hour

function S.todname(n) return name_text(n) end

S.env = setmetatable({}, { __index = function(_, k) return getenv(k) end })

function S.log_level(level)
	if level == nil then return 'notice' end
	local known = { crit = true, err = true, warning = true, notice = true, info = true, debug = true }
	if not known[level] then fail('invalid level, choose one of: crit, err, warning, notice, info, debug') end
	record('log_level', { level = level })
end
function S.verbose(on)
	if on == nil then return false end
	record('verbose', { on = on and true or false })
end
function S.log_target(target)
	if target ~= 'syslog' and target ~= 'stderr' and target ~= 'stdout' then
		fail('invalid target, choose one of: syslog, stderr, stdout')
	end
	record('log_target', { target = target })
end
function S.log_groups(groups)
	if type(groups) ~= 'table' then fail('log_groups: expected a table of group names') end
	record('log_groups', { groups = copy(groups) })
end
function S.user(name, group)
	if type(name) ~= 'string' then fail('user: expected a user name') end
	record('user', { user = name, group = group })
end
function S.mode(m) record('unsupported', { what = 'mode()', detail = tostring(m) }) end
function S.option(name, val) record('unsupported', { what = 'option()', detail = tostring(name) }) end
function S.log(...) end
function S.panic(fmt, ...) error(string.format(fmt, ...), 2) end
for _, f in ipairs({ 'log_error', 'log_warn', 'log_notice', 'log_info', 'log_debug' }) do
	S[f] = function() end
end

-- Reads of the environment are recorded: the YAML holds the value read now, not the lookup.
S.worker = setmetatable({ count = 1, pid = 1 }, {
	__index = function(_, k)
		if k == 'id' then record('read', { what = 'worker.id', value = '0' }); return '0' end
		return nil
	end,
})
function S.worker.coroutine() record('unsupported', { what = 'worker.coroutine()' }) end
function S.worker.sleep() fail('worker.sleep() cannot run while the config loads') end

S.event = {}
for _, f in ipairs({ 'after', 'recurrent', 'reschedule', 'cancel', 'socket' }) do
	S.event[f] = function(...)
		record('unsupported', { what = 'event.' .. f .. '()' })
		return 1
	end
end

-- ------------------------------------------------------------------------------------------
-- net

local net = {}
local iface_mt = {
	__index = function(t, k)
		fail("import-lua: the addresses of interface '" .. rawget(t, 'interface') ..
			"' are known only on the machine that runs kresd (net." .. rawget(t, 'interface') ..
			'.' .. tostring(k) .. ' is not evaluated)')
	end,
}
local function iface(name) return setmetatable({ interface = name, kind = 'interface' }, iface_mt) end

local function listen_addrs(a, out)
	if type(a) == 'string' then
		out[#out + 1] = { address = a }
	elseif type(a) == 'table' and getmetatable(a) == iface_mt then
		out[#out + 1] = { interface = rawget(a, 'interface') }
	elseif type(a) == 'table' then
		for _, x in ipairs(a) do listen_addrs(x, out) end
	else
		fail('net.listen: expected an address, an interface or a table of them, got ' .. type(a))
	end
	return out
end

function net.listen(addr, port, opts)
	if type(port) == 'table' and opts == nil then port, opts = nil, port end
	if port ~= nil and (type(port) ~= 'number' or port < 0 or port > 65535 or port % 1 ~= 0) then
		fail('net.listen: invalid port ' .. tostring(port))
	end
	if opts ~= nil and type(opts) ~= 'table' then fail('net.listen: the options must be a table') end
	opts = opts or {}
	local kind = opts.kind or 'dns'
	local kinds = { dns = true, tls = true, doh2 = true, doh = true, doh_legacy = true, webmgmt = true,
		xdp = true }
	if type(kind) ~= 'string' or not kinds[kind] then fail("net.listen: unknown kind '" .. tostring(kind) .. "'") end
	local addrs = listen_addrs(addr, {})
	for _, x in ipairs(addrs) do
		if x.address and not is_ip(x.address) and string.sub(x.address, 1, 1) ~= '/' then
			fail("net.listen: '" .. x.address .. "' is not an IP address")
		end
	end
	record('listen', { addrs = addrs, port = port, listen_kind = kind, freebind = opts.freebind and true or false })
	return true
end
function net.close() record('unsupported', { what = 'net.close()' }) end
function net.interfaces()
	record('unsupported', { what = 'net.interfaces()', detail = 'the interfaces of the machine that runs kresd are unknown here' })
	return {}
end
function net.bufsize(down, up)
	if down == nil then return 1232 end
	if type(down) ~= 'number' or (up ~= nil and type(up) ~= 'number') then fail('net.bufsize: expected numbers') end
	record('bufsize', { downstream = down, upstream = up or down })
end
function net.tls(cert, key)
	if cert == nil then return nil end
	record('tls', { cert = cert, key = key })
end
function net.tls_padding(p) record('tls_padding', { padding = p }) end
function net.tls_sticket_secret(s) record('tls_sticket_secret', { secret = s }) end
function net.tls_sticket_secret_file(f) record('tls_sticket_secret_file', { file = f }) end
function net.tcp_pipeline(n) if n ~= nil then record('tcp_pipeline', { value = n }) end return 100 end
function net.outgoing_v4(a) if a ~= nil then record('outgoing', { family = 4, address = a }) end end
function net.outgoing_v6(a) if a ~= nil then record('outgoing', { family = 6, address = a }) end end
function net.proxy_allowed(list) record('proxy_allowed', { allow = copy(list) }) end
function net.tls_client() record('unsupported', { what = 'net.tls_client()' }) end

S.net = setmetatable(net, {
	__index = function(_, k)
		if k == 'ipv4' or k == 'ipv6' then return true end
		if type(k) == 'string' then return iface(k) end
		return nil
	end,
	__newindex = function(_, k, v)
		if k == 'ipv4' or k == 'ipv6' then
			record('ip_family', { family = k, on = v and true or false })
		else
			net.listen(v)
		end
	end,
})

-- ------------------------------------------------------------------------------------------
-- cache

local cache = {}
function cache.open(size, storage)
	if type(size) ~= 'number' or size <= 0 then fail('cache.open: expected a size in bytes') end
	if storage ~= nil and type(storage) ~= 'string' then fail('cache.open: expected a storage URI') end
	record('cache', { size = size, storage = storage })
	return true
end
function cache.max_ttl(s) if s ~= nil then record('cache_ttl', { which = 'max', seconds = s }) end return 86400 end
function cache.min_ttl(s) if s ~= nil then record('cache_ttl', { which = 'min', seconds = s }) end return 5 end
function cache.ns_tout(ms) if ms ~= nil then record('unsupported', { what = 'cache.ns_tout()' }) end return 1000 end
function cache.clear() record('unsupported', { what = 'cache.clear()' }) end
function cache.close() record('unsupported', { what = 'cache.close()' }) end
function cache.count() return 0 end
function cache.stats() return {} end
S.cache = setmetatable(cache, {
	__newindex = function(_, k, v)
		if k == 'size' then
			if type(v) ~= 'number' or v <= 0 then fail('cache.size: expected a size in bytes') end
			record('cache', { size = v })
		elseif k == 'storage' then
			if type(v) ~= 'string' then fail('cache.storage: expected a storage URI') end
			record('cache', { storage = v })
		else
			rawset(cache, k, v)
		end
	end,
})

-- ------------------------------------------------------------------------------------------
-- trust_anchors

local ta = {}
function ta.add_file(path, readonly)
	if type(path) ~= 'string' then fail('trust_anchors.add_file: expected a file name') end
	record('ta_file', { file = path, readonly = readonly and true or false })
end
function ta.remove(owner) record('ta_remove', { owner = name_text(owner) }); return true end
function ta.set_insecure(list) record('nta', { names = names_of(list, 'trust_anchors.set_insecure') }) end
function ta.add(rr)
	if type(rr) ~= 'string' then fail('trust_anchors.add: expected a DS or DNSKEY record') end
	record('ta_add', { rr = rr })
end
function ta.summary() return '' end
S.trust_anchors = setmetatable(ta, {
	__newindex = function(_, k, v)
		-- hold_down_time, refresh_time, keep_removed: kresd's RFC 5011 tuning
		record('unsupported', { what = 'trust_anchors.' .. tostring(k) })
		rawset(ta, k, v)
	end,
})

-- ------------------------------------------------------------------------------------------
-- policy: actions and filters are data

local policy = {}
S.policy = policy

local function action(name, fields)
	fields = fields or {}
	fields.name = name
	return marker('action', fields)
end

for _, name in ipairs({ 'PASS', 'DROP', 'NO_ANSWER', 'REFUSE', 'TC', 'QTRACE', 'REQTRACE', 'IPTRACE',
	'DEBUG_ALWAYS', 'DEBUG_CACHE_MISS' }) do
	policy[name] = action(name)
end
policy.DENY = action('DENY')
function policy.DENY_MSG(msg, ede)
	if msg ~= nil and (type(msg) ~= 'string' or #msg >= 255) then
		fail('DENY_MSG: optional msg must be string shorter than 256 characters')
	end
	if msg == nil then return action('DENY', { ede = ede }) end
	return action('DENY_MSG', { message = msg, ede = ede })
end
local function targets(t, what)
	local list = {}
	if type(t) == 'table' then
		for _, v in ipairs(t) do list[#list + 1] = check_target(v, what) end
	else
		list[1] = check_target(t, what)
	end
	if #list == 0 then fail(what .. ': no target') end
	return list
end
function policy.FORWARD(t) return action('FORWARD', { targets = targets(t, 'FORWARD') }) end
function policy.STUB(t) return action('STUB', { targets = targets(t, 'STUB') }) end
function policy.TLS_FORWARD(list)
	if type(list) ~= 'table' or #list < 1 then fail('TLS_FORWARD argument must be a non-empty table') end
	local out, seen = {}, {}
	for idx, target in ipairs(list) do
		if type(target) ~= 'table' or type(target[1]) ~= 'string' then
			fail(string.format('TLS_FORWARD configuration at position %d must be a table starting with an IP address', idx))
		end
		check_target(target[1], 'TLS_FORWARD')
		if seen[target[1]] then
			fail('TLS_FORWARD configuration cannot declare two configs for IP address ' .. target[1])
		end
		seen[target[1]] = true
		local pins = target.pin_sha256
		if type(pins) == 'string' then pins = { pins } end
		local ca = target.ca_file
		if type(ca) == 'table' then ca = copy(ca) end
		if target.insecure then
			out[#out + 1] = { address = target[1], insecure = true }
		else
			out[#out + 1] = { address = target[1], hostname = target.hostname, ca_file = ca, pins = copy(pins) }
		end
	end
	return action('TLS_FORWARD', { targets = out })
end
function policy.MIRROR(t) return action('MIRROR', { targets = targets(t, 'MIRROR') }) end
function policy.REROUTE(...) return action('REROUTE') end
function policy.FLAGS(set, clear) return action('FLAGS', { set = copy(set), clear = copy(clear) }) end
function policy.ANSWER(rtable, nodata) return action('ANSWER', { rtable = copy(rtable), nodata = nodata }) end
function policy.DEBUG_IF() return action('DEBUG_IF') end

local function check_action(a, what)
	if type(a) == 'table' and a.kind == 'action' then return a end
	if type(a) == 'function' then return { kind = 'action', name = 'function' } end
	fail(what .. ': expected a policy action, got ' .. type(a))
end

function policy.all(a, ...)
	-- kresd's policy.all takes one action and ignores the rest
	if select('#', ...) > 0 then record('ignored', { what = 'policy.all() with more than one action: kresd applies the first only' }) end
	return marker('filter', { filter = 'all', action = check_action(a, 'policy.all') })
end
function policy.suffix(a, list)
	return marker('filter', { filter = 'suffix', action = check_action(a, 'policy.suffix'), names = names_of(list, 'policy.suffix') })
end
function policy.suffix_common(a, list, common)
	return marker('filter', { filter = 'suffix', action = check_action(a, 'policy.suffix_common'), names = names_of(list, 'policy.suffix_common') })
end
function policy.domains(a, list)
	return marker('filter', { filter = 'domains', action = check_action(a, 'policy.domains'), names = names_of(list, 'policy.domains') })
end
function policy.pattern(a, pattern)
	if type(pattern) ~= 'string' then fail('policy.pattern: expected a Lua pattern') end
	return marker('filter', { filter = 'pattern', action = check_action(a, 'policy.pattern'), pattern = pattern })
end
function policy.rpz(a, path, watch)
	if type(path) ~= 'string' then fail('policy.rpz: expected a file name') end
	return marker('filter', { filter = 'rpz', action = check_action(a, 'policy.rpz'), file = path, watch = watch })
end
function policy.slice() return marker('filter', { filter = 'slice' }) end
function policy.slice_randomize_psl() return function() end end
function policy.todnames(list)
	for i, n in ipairs(list) do list[i] = name_text(n) end
	return list
end
local rule_ids = 0
local function rule_of(r, what)
	if type(r) == 'table' and r.kind == 'filter' then return r end
	if type(r) == 'function' then return { kind = 'filter', filter = 'function' } end
	fail(what .. ': expected a policy rule, got ' .. type(r))
end
function policy.add(rule, postrule)
	rule_ids = rule_ids + 1
	record('policy', { rule = rule_of(rule, 'policy.add'), postrule = postrule and true or false })
	return { id = rule_ids, count = 0 }
end
function policy.del(id)
	record('unsupported', { what = 'policy.del()' })
	return true
end
policy.rules, policy.postrules, policy.special_names = {}, {}, {}

-- ------------------------------------------------------------------------------------------
-- modules: the module tables appear once loaded

local M = {}

local function module_table(name)
	if name == 'hints' then
		local hints = {}
		local function set(pair)
			if type(pair) ~= 'string' then fail('hints.set: expected "name address"') end
			local n, a = string.match(pair, '^%s*(%S+)%s+(%S+)%s*$')
			if not n then fail('hints.set: expected "name address", got "' .. pair .. '"') end
			if not is_ip(a) then fail("hints: '" .. a .. "' is not an IP address") end
			record('hint', { name = name_text(n), address = a })
			return {}
		end
		hints.set = set
		function hints.add_hosts(path) record('hints_file', { file = path or '/etc/hosts' }) end
		function hints.config(path)
			record('hints_file', { file = path, replace = true })
		end
		function hints.del(pair) record('unsupported', { what = 'hints.del()' }) end
		function hints.root(t) record('unsupported', { what = 'hints.root()' }) end
		function hints.root_file(f) record('unsupported', { what = 'hints.root_file()' }) end
		function hints.ttl(n) if n ~= nil then record('hints_ttl', { seconds = n }) end return 5 end
		function hints.use_nodata(on) record('hints_nodata', { on = on and true or false }) end
		function hints.get(n) return {} end
		return setmetatable(hints, {
			__newindex = function(_, k, v)
				if type(v) ~= 'string' then fail('hints: expected an address for ' .. tostring(k)) end
				set(k .. ' ' .. v)
			end,
		})
	elseif name == 'predict' then
		return { config = function(c)
			if c ~= nil and type(c) ~= 'table' then fail('predict.config: expected a table') end
			record('module_config', { module = name, config = copy(c or {}) })
		end }
	elseif name == 'nsid' then
		return { name = function(n)
			if n == nil then return nil end
			if type(n) ~= 'string' then fail('nsid.name: expected a string') end
			record('nsid', { value = n })
		end }
	elseif name == 'view' then
		local view = {}
		function view.addr(_, subnet, rule, dst)
			if type(subnet) ~= 'string' then fail('view:addr: expected a subnet') end
			local a = string.match(subnet, '^([^/]+)')
			local len = string.match(subnet, '/(%d+)$')
			if not is_ip(a) or (len and tonumber(len) > (string.find(a, ':', 1, true) and 128 or 32)) then
				fail(string.format('failed to parse subnet %s', subnet))
			end
			record('view', { subnet = subnet, rule = rule_of(rule, 'view:addr'), dst = dst and true or false })
		end
		function view.tsig(_, key, rule) record('unsupported', { what = 'view:tsig()' }) end
		view.rule_src = function(a) return function() end end
		view.rule_dst = view.rule_src
		return view
	end
	-- Modules configured with one config() call (or none).
	return { config = function(c)
		record('module_config', { module = name, config = copy(c) })
	end }
end

local function load_module(spec)
	if type(spec) ~= 'string' then fail('modules.load: expected a module name') end
	local name = string.match(spec, '^%s*([%w_]+)')
	if not name then fail("modules.load: invalid module name '" .. spec .. "'") end
	local known = {
		hints = true, stats = true, predict = true, serve_stale = true, dns64 = true, view = true,
		rebinding = true, workarounds = true, prefill = true, nsid = true, graphite = true,
		dnstap = true, http = true, policy = true, bogus_log = true, daf = true, renumber = true,
		etcd = true, experimental_dot_auth = true, prometheus = true, priming = true,
		detect_time_skew = true, detect_time_jump = true, ta_update = true, ta_signal_query = true,
		ta_sentinel = true, edns_keepalive = true, refuse_nord = true, watchdog = true,
		extended_error = true, http_doh = true, iterate = true, validate = true, cache = true,
		rfc7706 = true,
	}
	if not known[name] then fail("modules.load('" .. name .. "'): no such module") end
	record('module', { name = name, spec = spec })
	if name ~= 'policy' and rawget(S, name) == nil then
		S[name] = module_table(name)
	end
	return true
end
M.load = load_module
function M.unload(name) record('module_unload', { name = name }); return true end
function M.list() return {} end
S.modules = setmetatable(M, {
	__newindex = function(_, k, v)
		if type(k) == 'number' then k, v = v, nil end
		load_module(k)
		local short = string.match(k, '[%w_]+')
		local mod = rawget(S, short)
		local config = type(mod) == 'table' and rawget(mod, 'config')
		if config and v ~= nil then
			if k ~= v then config(v) else config() end
		end
	end,
})

-- kresd 5's compatibility for `net = {…}`, `modules = {…}`, `cache = {…}`: assigning a table
-- to one of these globals sets its fields one by one (the second value returned).
return S, { net = true, modules = true, cache = true, trust_anchors = true, worker = true, env = true }
