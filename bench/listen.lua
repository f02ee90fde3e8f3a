-- wrk script for bench/listen.sh: every request is an RFC 8058 one-click
-- POST for a distinct reader, taken from the pre-generated paths in
-- $LP_PATHS (one /unsubscribe/TOKEN a line). Thread t of T sends paths
-- t, t+T, t+2T, ...; a thread that runs out of paths starts over and counts
-- it in `wrapped` (bench/listen.sh fails then: every request must be a new
-- reader). At the end it prints one JSON line `RESULT {...}`.
local paths = {}
for line in io.lines(os.getenv("LP_PATHS")) do paths[#paths + 1] = line end

local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  -- `id` and the thread count arrive through setup().
  index = id
  wrapped = 0
  step = tonumber(os.getenv("LP_THREADS") or "2")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.body = "List-Unsubscribe=One-Click"
end

function request()
  local p = paths[index]
  if p == nil then
    wrapped = wrapped + 1
    index = id
    p = paths[index]
  end
  index = index + step
  return wrk.format(nil, p)
end

function done(summary, latency, requests)
  local wrapped_total = 0
  for _, t in ipairs(threads) do wrapped_total = wrapped_total + (t:get("wrapped") or 0) end
  local errors = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,"timeouts":%d,' ..
    '"p50_us":%d,"p99_us":%d,"max_us":%d,"wrapped":%d}\n',
    summary.requests, summary.duration, errors.status,
    errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, wrapped_total))
end
