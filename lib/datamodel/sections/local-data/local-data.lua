-- Local data for kresd 5.6, as Knot Resolver 6 answers it (see render.ts for how it is called).
-- A chunk run once per worker with (request-tags variable name, module name); returns the module
-- table whose functions the generated config calls for each address, subtree, hosts file,
-- records block and RPZ file.
--
-- kresd 5.6 has no rule database, so this re-creates Knot Resolver 6's local-data semantics with
-- 5.6's own pieces: its zone-file parser (zonefile.lua / libzscanner) reads records and RPZ files,
-- a Lua module layer answers each query before the iterator the way 5.6's hints module does (so a
-- local CNAME is followed by the iterator, and the answers are never cached nor validated), tags
-- come from the view module (req:vars()), and RPZ files are watched with cqueues.notify as 5.6's
-- policy.rpz does. Lookup order as upstream: exact name and type, a CNAME at the name (an empty
-- CNAME set is the NODATA marker), then the closest enclosing subtree rule (empty, nxdomain,
-- redirect, and RPZ's nodata / DNAME-like wildcard CNAMEs).
local ffi = require('ffi')
local bit = require('bit')
local T, R = kres.type, kres.rcode
local TAGS_VAR, MODULE_NAME = ...
-- SOA RDATA of synthesized negative answers: localhost. nobody.invalid. 1 3600 1200 604800 10800
local SOA_RDATA = string.char(9) .. 'localhost' .. string.char(0, 6) .. 'nobody'
	.. string.char(7) .. 'invalid' .. string.char(0, 0, 0, 0, 1, 0, 0, 14, 16, 0, 0, 4, 176,
	0, 9, 58, 128, 0, 0, 42, 48)
local ROOT = string.char(0)
local WILD = string.char(1) .. '*'
local UNSUPPORTED = { [T.RRSIG] = true, [T.NSEC] = true, [T.NSEC3] = true,
	[T.DNSKEY] = true, [T.DS] = true }
local M = { stores = {} }
local main = { exact = {}, zones = {} }
M.stores[1] = main

local function warn(fmt, ...) log_warn(ffi.C.LOG_GRP_POLICY, 'local-data: ' .. fmt, ...) end

local function parent(name)
	if name == ROOT then return nil end
	return string.sub(name, string.byte(name) + 2)
end
local function last_label(name)
	local last
	while name ~= ROOT do
		last = string.sub(name, 2, string.byte(name) + 1)
		name = parent(name)
	end
	return last
end
local function in_zone(name, apex)
	while #name > #apex do name = parent(name) end
	return name == apex
end
local function dname(text)
	local d = kres.str2dname(text)
	if d == nil then error('invalid domain name: ' .. text, 0) end
	return d
end

local function tag_set(tags)
	if tags == nil then return nil end
	local set = {}
	for _, t in ipairs(tags) do set[t] = true end
	return set
end
local function tag_key(tags)
	if tags == nil then return '*' end
	local l = {}
	for _, t in ipairs(tags) do l[#l + 1] = t end
	table.sort(l)
	return table.concat(l, ' ')
end
local function tags_ok(tags, req)
	if tags == nil then return true end
	local have = req:vars()[TAGS_VAR]
	if have == nil then return false end
	for t in pairs(tags) do
		if have[t] then return true end
	end
	return false
end
local function first(list, req)
	if list == nil then return nil end
	for _, v in ipairs(list) do
		if tags_ok(v.tags, req) then return v end
	end
	return nil
end

-- One RR into a store; same owner, type and tags merge into one RRset (lowest TTL wins).
-- rdata == nil only creates the (empty) RRset: an empty CNAME is the NODATA marker.
local function add_rr(store, owner, rtype, ttl, rdata, opts)
	local byname = store.exact[owner]
	if byname == nil then byname = {}; store.exact[owner] = byname end
	local list = byname[rtype]
	if list == nil then list = {}; byname[rtype] = list end
	local key = tag_key(opts.tags)
	local v
	for _, x in ipairs(list) do
		if x.key == key then v = x; break end
	end
	if v == nil then
		v = { key = key, tags = tag_set(opts.tags), ttl = ttl, rdata = {}, seen = {}, log = opts.log }
		table.insert(list, v)
	elseif rdata ~= nil and ttl < v.ttl then
		v.ttl = ttl
	end
	if rdata ~= nil and not v.seen[rdata] then
		v.seen[rdata] = true
		table.insert(v.rdata, rdata)
	end
end
local function add_zone(store, apex, kind, ttl, opts, target)
	local list = store.zones[apex]
	if list == nil then list = {}; store.zones[apex] = list end
	table.insert(list, { kind = kind, ttl = ttl, tags = tag_set(opts.tags), target = target, log = opts.log })
end

local function reverse_name(ip)
	local parts = {}
	if #ip == 4 then
		for i = 4, 1, -1 do parts[#parts + 1] = tostring(string.byte(ip, i)) end
		parts[#parts + 1] = 'in-addr.arpa.'
	else
		for i = 16, 1, -1 do
			local b = string.byte(ip, i)
			parts[#parts + 1] = string.format('%x.%x', bit.band(b, 15), bit.rshift(b, 4))
		end
		parts[#parts + 1] = 'ip6.arpa.'
	end
	return dname(table.concat(parts, '.'))
end
local function add_pair(store, name, addr, opts, with_ptr)
	local owner = dname(name)
	local ip = kres.str2ip(addr)
	if ip == nil then error('invalid IP address: ' .. addr, 0) end
	add_rr(store, owner, #ip == 16 and T.AAAA or T.A, opts.ttl, ip, opts)
	if opts.nodata then add_rr(store, owner, T.CNAME, opts.ttl, nil, opts) end
	if with_ptr then add_rr(store, reverse_name(ip), T.PTR, opts.ttl, owner, opts) end
end

-- Runs fn(zs) for every record of zone-file text or of a file; errors name the line.
local function scan(what, text, path, ttl, fn)
	local zs = require('zonefile').new('.', kres.class.IN, ttl)
	local ok, err
	if path then
		ok, err = zs:open(path)
		if not ok then error(string.format('%s: %s', what, tostring(err)), 0) end
		ok, err = zs:parse()
	else
		ok, err = zs:parse(text)
	end
	while ok do
		fn(zs)
		ok, err = zs:parse()
	end
	if err then
		error(string.format('%s:%d: %s', what, tonumber(zs.line_counter), err), 0)
	end
	if zs.state == 'ZS_STATE_INCLUDE' then
		error(string.format('%s:%d: $INCLUDE is not supported', what, tonumber(zs.line_counter)), 0)
	end
	if text then local _ = #text end -- keep the input alive until parsing ends
end
local function rr_of(zs)
	return string.lower(ffi.string(zs.r_owner, zs.r_owner_length)), tonumber(zs.r_type),
		tonumber(zs.r_ttl), ffi.string(zs.r_data, zs.r_data_length), tonumber(zs.r_class)
end
local function usable(what, owner, rtype, class)
	if class ~= kres.class.IN then
		warn('%s: skipping a record of class %d', what, class)
		return false
	end
	local last = last_label(owner)
	if last and string.sub(string.lower(last), 1, 4) == 'rpz-' then
		warn('%s: skipping unsupported owner %s', what, kres.dname2str(owner))
		return false
	end
	if UNSUPPORTED[rtype] or (rtype >= 128 and rtype <= 255) then
		warn('%s: skipping unsupported type %s at %s', what, kres.tostring.type[rtype] or rtype,
			kres.dname2str(owner))
		return false
	end
	return true
end
local function add_nodata_markers(store, owners, opts)
	if not opts.nodata then return end
	for owner, ttl in pairs(owners) do add_rr(store, owner, T.CNAME, ttl, nil, opts) end
end

local function load_records(store, what, text, path, opts)
	local owners = {}
	scan(what, text, path, opts.ttl, function(zs)
		local owner, rtype, ttl, rdata, class = rr_of(zs)
		if not usable(what, owner, rtype, class) then return end
		if rtype == T.DNAME then
			add_zone(store, owner, 'dname', ttl, opts, string.lower(rdata))
		end
		add_rr(store, owner, rtype, ttl, rdata, opts)
		if owners[owner] == nil or ttl < owners[owner] then owners[owner] = ttl end
	end)
	add_nodata_markers(store, owners, opts)
end

local function load_rpz(store, path, opts)
	local apex, seen_record, warned_soa, warned_zone
	local owners = {}
	scan(path, nil, path, opts.ttl, function(zs)
		local owner, rtype, ttl, rdata, class = rr_of(zs)
		if not usable(path, owner, rtype, class) then return end
		local origin = apex or string.lower(ffi.string(zs.zone_origin, zs.zone_origin_length))
		if rtype == T.SOA then
			if seen_record and owner ~= origin then
				error(path .. ': SOA found late, with an unexpected owner', 0)
			end
			if apex and not warned_soa then
				warned_soa = true
				warn('%s: ignoring a repeated SOA record', path)
			elseif seen_record and not warned_soa then
				warned_soa = true
				warn('%s: SOA should be the first record of an RPZ', path)
			end
			apex = apex or owner
			seen_record = true
			return
		end
		seen_record = true
		if not in_zone(owner, origin) then
			if not warned_zone then
				warned_zone = true
				warn('%s: skipping records outside the zone, first %s', path, kres.dname2str(owner))
			end
			return
		end
		owner = string.sub(owner, 1, #owner - #origin) .. ROOT
		if rtype == T.NS then return end -- apex NS and delegations mean nothing in an RPZ
		if rtype ~= T.CNAME then
			add_rr(store, owner, rtype, ttl, rdata, opts)
			if owners[owner] == nil or ttl < owners[owner] then owners[owner] = ttl end
			return
		end
		local target = string.lower(rdata)
		local tlast = last_label(target)
		if tlast and string.sub(tlast, 1, 4) == 'rpz-' then
			warn('%s: skipping unsupported CNAME target .%s', path, tlast)
			return
		end
		local wild = string.sub(owner, 1, 2) == WILD
		if target == ROOT then -- NXDOMAIN for the name and everything below
			add_zone(store, wild and string.sub(owner, 3) or owner, 'nxdomain', ttl, opts)
		elseif target == WILD .. ROOT then -- NODATA
			if wild then
				add_zone(store, string.sub(owner, 3), 'nodata', ttl, opts)
			else
				add_rr(store, owner, T.CNAME, ttl, nil, opts)
			end
		elseif wild then
			add_zone(store, string.sub(owner, 3), 'dname_flat', ttl, opts, target)
		else
			add_rr(store, owner, T.CNAME, ttl, target, opts)
		end
	end)
	add_nodata_markers(store, owners, opts)
end

-- Public API used by the generated configuration.
function M.address(name, addr, opts) add_pair(main, name, addr, opts, true) end
function M.hosts(path, opts)
	local f, err = io.open(path, 'r')
	if f == nil then error('cannot read hosts file: ' .. tostring(err), 0) end
	local n = 0
	for line in f:lines() do
		n = n + 1
		local tokens = {}
		for tok in string.gmatch(string.gsub(line, '#.*', ''), '%S+') do tokens[#tokens + 1] = tok end
		if #tokens == 1 then
			f:close()
			error(string.format('%s:%d: invalid syntax', path, n), 0)
		end
		local ok, e = pcall(function()
			for i = 3, #tokens do add_pair(main, tokens[i], tokens[1], opts, false) end
			if #tokens >= 2 then add_pair(main, tokens[2], tokens[1], opts, true) end
		end)
		if not ok then
			f:close()
			error(string.format('%s:%d: %s', path, n, tostring(e)), 0)
		end
	end
	f:close()
end
function M.records(what, text, opts) load_records(main, what, text, nil, opts) end
function M.subtree(name, kind, opts) add_zone(main, dname(name), kind, opts.ttl, opts) end
function M.rpz(path, opts, watch)
	local store = { exact = {}, zones = {} }
	table.insert(M.stores, store)
	load_rpz(store, path, opts)
	if watch == false then return end
	local has_notify, notify = pcall(require, 'cqueues.notify')
	if not has_notify then
		if watch then error('watching RPZ file ' .. path .. ' needs lua-cqueues', 0) end
		log_info(ffi.C.LOG_GRP_POLICY, 'local-data: lua-cqueues missing, not watching %s', path)
		return
	end
	local dir, file = string.match(path, '^(.*)/([^/]+)$')
	local watcher = notify.opendir(dir ~= '' and dir or '/')
	watcher:add(file, bit.bxor(notify.CREATE, notify.MODIFY))
	worker.coroutine(function()
		for _, name in watcher:changes() do
			if name == file then
				local fresh = { exact = {}, zones = {} }
				local ok, err = pcall(load_rpz, fresh, path, opts)
				if ok then
					store.exact, store.zones = fresh.exact, fresh.zones
					log_info(ffi.C.LOG_GRP_POLICY, 'local-data: reloaded RPZ %s', path)
				else
					log_error(ffi.C.LOG_GRP_POLICY, 'local-data: keeping old RPZ %s: %s', path, tostring(err))
				end
			end
		end
	end)
end

-- Lookup, in the order of Knot Resolver 6: exact name and type, CNAME at the name,
-- then the closest enclosing subtree rule.
local function soa(apex, ttl) return { { apex, ttl, T.SOA, SOA_RDATA } } end
local function from_rrset(v, sname, rtype)
	if #v.rdata == 0 then return { rcode = R.NOERROR, auth = soa(sname, v.ttl), log = v.log } end
	local rrs = {}
	for _, rd in ipairs(v.rdata) do rrs[#rrs + 1] = { sname, v.ttl, rtype, rd } end
	return { rcode = R.NOERROR, answer = rrs, log = v.log }
end
local function exact(req, name, rtype)
	for _, s in ipairs(M.stores) do
		local byname = s.exact[name]
		local v = byname and first(byname[rtype], req)
		if v then return v end
	end
	return nil
end
local function from_zone(z, apex, req, sname, stype)
	local at_apex = sname == apex
	local kind = z.kind
	if kind == 'nxdomain' then
		return { rcode = R.NXDOMAIN, auth = soa(apex, z.ttl), log = z.log }
	elseif kind == 'empty' then
		if not at_apex then return { rcode = R.NXDOMAIN, auth = soa(apex, z.ttl), log = z.log } end
		if stype == T.SOA then return { rcode = R.NOERROR, answer = soa(apex, z.ttl), log = z.log } end
		if stype == T.NS then
			return { rcode = R.NOERROR, answer = { { apex, z.ttl, T.NS, apex } }, log = z.log }
		end
		return { rcode = R.NOERROR, auth = soa(apex, z.ttl), log = z.log }
	elseif kind == 'nodata' then
		if at_apex then return nil end
		return { rcode = R.NOERROR, auth = soa(apex, z.ttl), log = z.log }
	elseif kind == 'redirect' then
		if not at_apex and stype ~= T.NS and stype ~= T.SOA then
			local v = exact(req, apex, stype)
			if v then return from_rrset(v, sname, stype) end
		end
		if at_apex and stype == T.SOA then
			return { rcode = R.NOERROR, answer = soa(apex, z.ttl), log = z.log }
		end
		return { rcode = R.NOERROR, auth = soa(apex, z.ttl), log = z.log }
	else -- dname, dname_flat
		if at_apex then return nil end
		local target = z.target
		if kind == 'dname' then target = string.sub(sname, 1, #sname - #apex) .. target end
		if #target > 255 then return { rcode = R.YXDOMAIN, log = z.log } end
		return { rcode = R.NOERROR, answer = { { sname, z.ttl, T.CNAME, target } }, log = z.log }
	end
end
local function lookup(req, sname, stype)
	local v = exact(req, sname, stype)
	if v then return from_rrset(v, sname, stype) end
	if stype ~= T.CNAME and stype ~= T.DS then
		v = exact(req, sname, T.CNAME)
		if v then return from_rrset(v, sname, T.CNAME) end
	end
	local name = sname
	if stype == T.DS then name = parent(name) end -- DS belongs to the parent side
	while name ~= nil do
		for _, s in ipairs(M.stores) do
			local z = first(s.zones[name], req)
			if z then
				local r = from_zone(z, name, req, sname, stype)
				if r then return r end
			end
		end
		name = parent(name)
	end
	return nil
end

local function log_applied(req, qry, how)
	local msg = '=> local data applied'
	if how.ip then
		local addr = req.qsource.addr
		msg = msg .. ', user: ' .. (addr ~= nil and string.match(tostring(addr), '^[^#]*') or 'internal')
	end
	if how.name then msg = msg .. ', name: ' .. kres.dname2str(qry.sname) end
	log_notice(ffi.C.LOG_GRP_POLICY, '%s', msg)
end
local function put_all(pkt, section, rrs)
	if rrs == nil then return end
	pkt:begin(section)
	for _, rr in ipairs(rrs) do pkt:put(rr[1], rr[2], kres.class.IN, rr[3], rr[4]) end
end
local function produce(state, req, pkt)
	if bit.band(state, bit.bor(kres.FAIL, kres.DONE)) ~= 0 then return state end
	local qry = req:current()
	if qry == nil or qry.sclass ~= kres.class.IN then return state end
	local r = lookup(req, string.lower(kres.dname2wire(qry.sname)), qry.stype)
	if r == nil then return state end
	pkt:recycle()
	pkt:question(qry.sname, qry.sclass, qry.stype)
	pkt:rcode(r.rcode)
	pkt:aa(true)
	put_all(pkt, kres.section.ANSWER, r.answer)
	put_all(pkt, kres.section.AUTHORITY, r.auth)
	pkt.parsed = pkt.size
	pkt:qr(true)
	qry.flags.CACHED = true
	qry.flags.NO_MINIMIZE = true
	qry.flags.DNSSEC_WANT = false
	if r.log then log_applied(req, qry, r.log) end
	return kres.DONE
end
package.preload['kres_modules.' .. MODULE_NAME] = function()
	return { layer = { produce = produce } }
end

-- Special-use names (RFC 6761/6303) that 5.6's policy module blocks must not hide local data.
for _, rule in ipairs(policy.special_names) do
	local cb = rule.cb
	rule.cb = function(req, qry)
		if lookup(req, string.lower(qry:name()), qry.stype) then return nil end
		return cb(req, qry)
	end
end
return M
