-- kresd 5.6's cache.clear() for one /cache/clear request, sent as one control-socket command
-- (render.ts joins this chunk into one line, so no comment may follow code on a line below).
-- Arguments: name (nil: the whole cache), exact_name, rr_type (kresd's type number or nil),
-- chunk_size (nil together with an RR type: kresd refuses both). Returns the result as JSON;
-- a Lua error stays an error.
--
-- The cache is committed afterwards, whatever happened: kresd 5.6's control socket does not,
-- and cache.clear() with an RR type leaves its LMDB write transaction open, which holds the
-- cache's write lock, so every other worker would hang on its next cache write until this one
-- answers a query.
local name, exact_name, rr_type, chunk_size = ...
local ok, res = pcall(cache.clear, name, exact_name, rr_type, chunk_size)
require('ffi').C.kr_cache_commit(kres.context().cache)
if not ok then error(res, 0) end
return tojson(res)
