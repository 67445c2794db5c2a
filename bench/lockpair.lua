-- wrk, one connection per thread: each thread alternates lock and unlock of
-- its own workspace (ids in TP_BENCH_LOCK_IDS, space separated), so no two
-- connections contend for one lock and every answer should be 200.
local ids = {}
for id in string.gmatch(os.getenv("TP_BENCH_LOCK_IDS"), "%S+") do
   ids[#ids + 1] = id
end
local next_thread = 1

function setup(thread)
   thread:set("ws", ids[next_thread])
   next_thread = next_thread + 1
end

function init(args)
   wrk.headers["Authorization"] = "Bearer " .. os.getenv("TP_BENCH_TOKEN")
   wrk.headers["Content-Type"] = "application/vnd.api+json"
end

-- The action moves on when its answer arrives, not when a request is
-- built: wrk builds one request of the first thread to inspect it and
-- never sends it.
local action = "lock"

function request()
   return wrk.format("POST", "/api/v2/workspaces/" .. ws .. "/actions/" .. action,
                     nil, action == "lock" and '{"reason":"bench"}' or "")
end

function response(status, headers, body)
   action = action == "lock" and "unlock" or "lock"
end
