-- `kresctl import-lua`: runs a kresd 5 config in LuaJIT with recording stand-ins for kresd's API
-- (stand-ins.lua) and prints what it did as JSON (json.lua) on stdout, for translate.ts.
--
--   luajit sandbox.lua FILE DISPLAY-NAME MAX-INSTRUCTIONS MAX-KBYTES
--
-- The config runs in an environment of its own (setfenv): Lua's pure libraries, os.getenv /
-- os.time / os.date / os.clock, and the stand-ins; no io, no os.execute, no loadstring/dofile, no
-- require but of pure modules. A count hook stops it after MAX-INSTRUCTIONS virtual-machine
-- instructions or once the heap passes MAX-KBYTES (the JIT is off so the hook always runs); the
-- caller also kills it after a wall-clock timeout. Output, one JSON object:
--   { ok = true, events = [ {op, line, top, …} ], spans = [ [first, last] ], printed = n }
--   { ok = false, stage = 'syntax' | 'runtime' | 'limit' | 'unsupported', message, line, spans }
-- `line` is where in FILE a call was made (the innermost frame in FILE), `top` the top-level
-- statement of FILE it belongs to; `spans` are FILE's top-level statements as line ranges.
jit.off()
local file, display, max_instructions, max_kbytes = arg[1], arg[2], tonumber(arg[3]), tonumber(arg[4])
local here = string.match(arg[0], '^(.*)/[^/]*$') or '.'

local function read_all(path)
	local f, err = io.open(path, 'rb')
	if not f then return nil, err end
	local text = f:read('*a')
	f:close()
	return text
end

local json = assert(loadstring(assert(read_all(here .. '/json.lua')), '=json'))()
local CHUNK = '@' .. display

local function emit(result)
	io.stdout:write(json.encode(result), '\n')
	io.stdout:flush()
	os.exit(0)
end

local text, read_err = read_all(file)
if not text then emit({ ok = false, stage = 'read', message = tostring(read_err) }) end

-- Top-level statements: the shortest runs of lines that compile on their own, in order.
local function statement_spans(src)
	local lines = {}
	for l in string.gmatch(src .. (string.sub(src, -1) == '\n' and '' or '\n'), '([^\n]*)\n') do
		lines[#lines + 1] = l
	end
	local spans, first = {}, 1
	while first <= #lines do
		local last = first
		local ok = false
		while last <= #lines and last - first < 2000 do
			if loadstring(table.concat(lines, '\n', first, last)) then ok = true; break end
			last = last + 1
		end
		if not ok then last = #lines end
		local body = table.concat(lines, '\n', first, last)
		-- blank lines and comments are not statements
		local code = string.gsub(string.gsub(body, '%-%-%[(=*)%[.-%]%1%]', ''), '%-%-[^\n]*', '')
		if string.find(code, '%S') then spans[#spans + 1] = { first, last } end
		first = last + 1
	end
	return spans
end

local chunk, syntax_err = loadstring(text, CHUNK)
if not chunk then
	emit({ ok = false, stage = 'syntax', message = syntax_err,
		line = tonumber(string.match(syntax_err, ':(%d+):')) })
end
local spans = statement_spans(text)

-- Where in FILE the running code is: the innermost and the outermost frame of FILE.
local function position()
	local line, top
	local level = 3
	while true do
		local info = debug.getinfo(level, 'Sl')
		if not info then break end
		if info.source == CHUNK then
			line = line or info.currentline
			top = info.currentline
		end
		level = level + 1
	end
	return line, top
end

local events = {}
local function record(op, fields)
	fields.op = op
	fields.line, fields.top = position()
	events[#events + 1] = fields
end
local function getenv(name)
	local value = os.getenv(tostring(name))
	record('env', { name = tostring(name), value = value })
	return value
end

local S, PROTECTED = assert(loadstring(assert(read_all(here .. '/stand-ins.lua')), '=stand-ins'))(record, getenv)

-- Pure parts of Lua's library; string.rep checked so one call cannot take the memory at once.
local safe_string = {}
for k, v in pairs(string) do safe_string[k] = v end
safe_string.dump = nil
function safe_string.rep(s, n, sep)
	if type(n) == 'number' and #tostring(s) * n > max_kbytes * 1024 then
		error('import-lua: memory limit reached (string.rep)', 2)
	end
	return string.rep(s, n, sep)
end
getmetatable('').__index = safe_string
local function copy_of(t)
	local c = {}
	for k, v in pairs(t) do c[k] = v end
	return c
end
local PURE_MODULES = { bit = bit, string = safe_string, table = copy_of(table), math = copy_of(math) }
local printed = 0
local base = {
	assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
	rawequal = rawequal, rawget = rawget, rawset = rawset, select = select,
	setmetatable = setmetatable, getmetatable = getmetatable, tonumber = tonumber,
	tostring = tostring, type = type, unpack = unpack, xpcall = xpcall, _VERSION = _VERSION,
	string = safe_string, table = PURE_MODULES.table, math = PURE_MODULES.math, bit = bit,
	os = setmetatable({ getenv = getenv, time = os.time, date = os.date, clock = os.clock }, {
		__index = function(_, k)
			error("import-lua: os." .. tostring(k) .. " is not evaluated (only getenv, time, date, clock)", 2)
		end,
	}),
	print = function() printed = printed + 1 end,
	require = function(name)
		local m = PURE_MODULES[name]
		if m then return m end
		error("import-lua: require('" .. tostring(name) .. "') is not evaluated (only bit, string, table, math)", 2)
	end,
}
for k, v in pairs(S) do base[k] = v end

local env = setmetatable({}, {
	__index = function(_, k)
		local v = base[k]
		if v ~= nil then return v end
		return S[k] -- module tables appear in S once loaded
	end,
	__newindex = function(t, k, v)
		if PROTECTED[k] and type(v) == 'table' then
			local target = base[k]
			for k2, v2 in pairs(v) do target[k2] = v2 end
		else
			rawset(t, k, v)
		end
	end,
})
base._G = env
setfenv(chunk, env)

-- Globals kresd has that the stand-ins do not model: using one is not an error of the config.
local KRESD_GLOBALS = { kres = true, ffi = true, stats = true, resolve = true, debugging = true,
	io = true, dofile = true, loadfile = true, loadstring = true, load = true, package = true,
	debug = true, jit = true, collectgarbage = true, getfenv = true, setfenv = true,
	map = true, table_print = true, eval_cmd = true, tojson = true, fromjson = true,
	kluautil = true, krprint = true }

local steps = 0
debug.sethook(function()
	steps = steps + 1
	if steps * 10000 > max_instructions then error('import-lua: instruction limit reached', 2) end
	if collectgarbage('count') > max_kbytes then error('import-lua: memory limit reached', 2) end
end, '', 10000)

local failure
local ok = xpcall(chunk, function(err)
	local msg = type(err) == 'string' and err or ('error object ' .. tostring(err))
	local line = position()
	-- position() starts two frames up; the handler itself sits above the failing frame
	local level = 2
	while line == nil do
		local info = debug.getinfo(level, 'Sl')
		if not info then break end
		if info.source == CHUNK then line = info.currentline end
		level = level + 1
	end
	local stage = 'runtime'
	if string.find(msg, 'limit reached', 1, true) then stage = 'limit' end
	local g = string.match(msg, "global '([%w_]+)' %(a nil value%)")
	if g and KRESD_GLOBALS[g] then stage = 'unsupported' end
	if string.find(msg, 'is not evaluated', 1, true) then stage = 'unsupported' end
	failure = { ok = false, stage = stage, message = msg, line = line }
end)
debug.sethook()
if not ok then
	failure.spans = spans
	failure.events = events
	emit(failure)
end
emit({ ok = true, events = events, spans = spans, printed = printed })
