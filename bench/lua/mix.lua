-- A read-heavy mix (replica offload): BENCH_MIX_LIST percent of requests list documents (a replica read),
-- BENCH_MIX_POST percent create one (a write), the rest read one document by id (cache, then the writer).
-- BENCH_DOC_IDS: comma-separated ids to read; BENCH_TOKEN: the bearer token.
local token = os.getenv("BENCH_TOKEN")
local list_share = tonumber(os.getenv("BENCH_MIX_LIST") or "80")
local post_share = tonumber(os.getenv("BENCH_MIX_POST") or "5")
local ids = {}
for id in string.gmatch(os.getenv("BENCH_DOC_IDS") or "", "[^,]+") do
  ids[#ids + 1] = id
end
local auth = { ["Authorization"] = "Bearer " .. token }
local post_headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
local post_body = '{"title": "mix", "body": "written during the read-heavy mix"}'

function request()
  local roll = math.random(100)
  if roll <= list_share then
    return wrk.format("GET", "/v1/documents?limit=20", auth)
  elseif roll <= list_share + post_share then
    return wrk.format("POST", "/v1/documents", post_headers, post_body)
  end
  return wrk.format("GET", "/v1/documents/" .. ids[math.random(#ids)], auth)
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
