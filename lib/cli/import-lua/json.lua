-- A small JSON encoder for the recording import-lua prints (see sandbox.lua). Tables whose keys
-- are exactly 1..n (or none) become arrays, other tables objects with string keys; functions and other
-- values Lua cannot show as data become {"__lua": "<type>"}, so the translator can name them.
-- Cycles are cut ({"__lua": "cycle"}); NaN and infinities become null.
local M = {}

local ESCAPES = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
	['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }

local function str(s)
	return '"' .. string.gsub(s, '[%c"\\\128-\255]', function(c)
		local e = ESCAPES[c]
		if e then return e end
		-- bytes of 128 and up go out as \u00XX: the text of a Lua string is bytes, not UTF-8
		return string.format('\\u%04x', string.byte(c))
	end) .. '"'
end

local function is_array(t)
	local n = 0
	for k in pairs(t) do
		if type(k) ~= 'number' or k < 1 or k % 1 ~= 0 then return false end
		n = n + 1
	end
	for i = 1, n do
		if t[i] == nil then return false end
	end
	return true, n
end

local function encode(v, seen)
	local t = type(v)
	if t == 'nil' then return 'null'
	elseif t == 'boolean' then return v and 'true' or 'false'
	elseif t == 'number' then
		if v ~= v or v == math.huge or v == -math.huge then return 'null' end
		if v % 1 == 0 and v > -2^53 and v < 2^53 then return string.format('%d', v) end
		return string.format('%.17g', v)
	elseif t == 'string' then return str(v)
	elseif t == 'table' then
		if seen[v] then return '{"__lua":"cycle"}' end
		seen[v] = true
		local out = {}
		local arr, n = is_array(v)
		if arr then
			for i = 1, n do out[i] = encode(v[i], seen) end
			seen[v] = nil
			return '[' .. table.concat(out, ',') .. ']'
		end
		local keys = {}
		for k in pairs(v) do keys[#keys + 1] = k end
		table.sort(keys, function(a, b) return tostring(a) < tostring(b) end)
		for _, k in ipairs(keys) do
			out[#out + 1] = str(tostring(k)) .. ':' .. encode(v[k], seen)
		end
		seen[v] = nil
		return '{' .. table.concat(out, ',') .. '}'
	end
	return '{"__lua":' .. str(t) .. '}'
end

function M.encode(v) return encode(v, {}) end

return M
