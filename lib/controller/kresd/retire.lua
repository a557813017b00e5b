-- Run once in a retiring worker (through its control socket): it stops taking new queries and keeps
-- answering those it has.
--
-- Closing a UDP endpoint at once (net.close, which is libuv's uv_close) would throw away the answers
-- libuv still holds in that socket's send queue: under load a worker reads several datagrams per
-- wake-up, sends the first answer and queues the rest for the next turn of its loop, and uv_close
-- cancels the queued ones. So reading from UDP stops first (uv_udp_recv_stop, through the FFI and
-- libuv's public API); the queue empties on the loop's next turn; only
-- close_after_ms (the chunk's argument) later are the endpoints closed. The datagrams nobody read stay on the shared
-- socket for the other workers.
--
-- Should the UDP handles not be found as expected, every endpoint is closed at once, as before.
-- Returns the endpoints as "family:port" words (the drain tells client connections apart by them),
-- then how UDP was stopped ("udp:stopped" or "udp:closed (reason)"), then how many legacy DoH
-- servers were paused ("doh-legacy:N", or "doh-legacy:closed (reason)").
local close_after_ms = ...
local UV_UDP = 15

local ffi = require('ffi')

-- The UDP handles kresd listens on: libuv's public API only (uv_walk over kresd's loop, the default
-- one), matched to the listening endpoints by their local port.
local function udp_listeners(ports)
	pcall(ffi.cdef, 'typedef void (*kres_mgr_walk_cb)(void *, void *); '
		.. 'void *uv_default_loop(void); '
		.. 'void uv_walk(void *, kres_mgr_walk_cb, void *); '
		.. 'int uv_handle_get_type(const void *); '
		.. 'int uv_udp_getsockname(const void *, void *, int *); '
		.. 'int uv_udp_recv_stop(void *);')
	local found = {}
	local name = ffi.new('uint8_t[128]')
	local len = ffi.new('int[1]')
	local cb = ffi.cast('kres_mgr_walk_cb', function(handle)
		if ffi.C.uv_handle_get_type(handle) ~= UV_UDP then return end
		len[0] = 128
		if ffi.C.uv_udp_getsockname(handle, name, len) ~= 0 then return end
		-- sockaddr_in and sockaddr_in6 both hold the port in bytes 2-3, network order.
		local port = name[2] * 256 + name[3]
		if ports[port] then table.insert(found, handle) end
	end)
	ffi.C.uv_walk(ffi.C.uv_default_loop(), cb, nil)
	cb:free()
	return found
end

-- Legacy DoH is served by the http module (lua-http on cqueues), and net.close on its endpoint
-- calls the module's server:close(), which drops the coroutines of every connection: they stay
-- open but are never read again until the worker stops, so their queries go unanswered. So its
-- servers are paused instead (no more accept) and their listening sockets shut down, which takes
-- them out of the SO_REUSEPORT group (the kernel sends new connections to the other workers) while
-- the connections already accepted are served on. Returns how many were stopped that way.
local SHUT_RDWR = 2
local function stop_legacy_doh()
	-- kresd resolves a loaded module's global through _G's metatable (no rawget).
	local loaded, mod = pcall(function() return http end)
	local servers = loaded and type(mod) == 'table' and mod.servers
	if type(servers) ~= 'table' then return 0 end
	pcall(ffi.cdef, 'int shutdown(int, int);')
	local n = 0
	for fd, inst in pairs(servers) do
		if inst.kind == 'doh_legacy' then
			inst.server:pause()
			ffi.C.shutdown(fd, SHUT_RDWR)
			n = n + 1
		end
	end
	return n
end

local words, listening, udp_ports, udp_listed = {}, {}, {}, 0
for _, e in ipairs(net.list()) do
	local t = e.transport
	if e.kind ~= 'control' and t.ip then
		table.insert(words, t.family .. ':' .. t.port)
		-- Legacy DoH endpoints are left to stop_legacy_doh.
		if e.kind ~= 'doh_legacy' then table.insert(listening, t) end
		if t.protocol == 'udp' then
			udp_listed = udp_listed + 1
			udp_ports[t.port] = true
		end
	end
end

local function close_all()
	local seen = {}
	for _, t in ipairs(listening) do
		local key = t.ip .. '#' .. t.port
		if not seen[key] then
			seen[key] = true
			pcall(net.close, t.ip, t.port)
		end
	end
	kres_mgr_retire_closed = true
end

local ok, udp = pcall(udp_listeners, udp_ports)
if ok and #udp ~= udp_listed then
	ok, udp = false, 'found ' .. #udp .. ' UDP listening handles, net.list() has ' .. udp_listed
end
local how
if ok then
	for _, handle in ipairs(udp) do ffi.C.uv_udp_recv_stop(handle) end
	kres_mgr_retire_closed = false
	event.after(close_after_ms, close_all)
	how = 'udp:stopped'
else
	close_all()
	how = 'udp:closed (' .. tostring(udp):gsub('%s+', '_') .. ')'
end
table.insert(words, how)
local legacy_ok, legacy = pcall(stop_legacy_doh)
if not legacy_ok then
	-- The module is not as expected: close its endpoints the usual way.
	for _, e in ipairs(net.list()) do
		if e.kind == 'doh_legacy' then pcall(net.close, e.transport.ip, e.transport.port) end
	end
	legacy = 'closed (' .. tostring(legacy):gsub('%s+', '_') .. ')'
end
table.insert(words, 'doh-legacy:' .. legacy)
return table.concat(words, ' ')
