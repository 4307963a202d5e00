-- One fixed request per scenario, read from the environment so that one script serves every scenario:
-- BENCH_METHOD, BENCH_TOKEN (optional bearer token), BENCH_BODY (optional JSON body).
-- The path comes from the URL given to wrk. A static request lets wrk skip Lua on every request.
wrk.method = os.getenv("BENCH_METHOD") or "GET"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. token
end
local body = os.getenv("BENCH_BODY")
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
end

dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
