-- wrk script for bench/load.sh: authenticated GETs, or POSTs of new draft submissions, and a
-- one-line JSON summary printed at the end ("WRK_JSON {...}") for the shell to collect.
--
-- Environment (set by bench/load.sh):
--   BENCH_TOKEN        bearer token of the bootstrap admin
--   BENCH_MODE         "get" (default): wrk's URL as is; "post": POST /api/v1/plans/{plan}/submissions
--   BENCH_PLAN         post: the plan id
--   BENCH_UNIT_PREFIX  post: unit codes are PREFIX0001 … PREFIX<BENCH_UNIT_COUNT>, created beforehand
--   BENCH_UNIT_COUNT   post: how many such units exist
--   BENCH_YEARS        post: "2021-2025", the plan's years
--   BENCH_INDICATORS   post: comma-separated indicator ids; a trailing "r" marks a rank
--                      indicator (value 1–12, out_of 12), e.g. "1,2,…,19,20r"
--   BENCH_THREADS      post: wrk's -t, to split the slots between threads
--
-- Every POST targets a (unit, period) slot no other request uses: slot k of thread t is
-- global slot k * threads + t, and the slots run through each unit's periods (years,
-- halves, quarters, months) before the next unit. The units are new, so the seeded data
-- holds nothing there: no 409 by construction, as long as the slots last (load.sh creates
-- enough units for POST_RATE_CAP requests per second over the duration).

local token = os.getenv("BENCH_TOKEN") or ""
local mode = os.getenv("BENCH_MODE") or "get"

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Accept"] = "application/json"

local thread_count = 0

function setup(thread)
  thread:set("tid", thread_count)
  thread_count = thread_count + 1
end

-- Per-thread state (each wrk thread has its own Lua interpreter).
local periods = {}
local indicator_ids = {}
local threads = tonumber(os.getenv("BENCH_THREADS") or "1")
local unit_prefix = os.getenv("BENCH_UNIT_PREFIX") or "BENCH-"
local unit_count = tonumber(os.getenv("BENCH_UNIT_COUNT") or "0")
local plan = os.getenv("BENCH_PLAN") or "1"
local k = 0

local function init_post()
  local first, last = string.match(os.getenv("BENCH_YEARS") or "2021-2025", "(%d+)-(%d+)")
  for year = tonumber(first), tonumber(last) do
    table.insert(periods, tostring(year))
    for h = 1, 2 do table.insert(periods, string.format("%d-H%d", year, h)) end
    for q = 1, 4 do table.insert(periods, string.format("%d-Q%d", year, q)) end
    for m = 1, 12 do table.insert(periods, string.format("%d-%02d", year, m)) end
  end
  for item in string.gmatch(os.getenv("BENCH_INDICATORS") or "", "[^,]+") do
    local id, rank = string.match(item, "^(%d+)(r?)$")
    table.insert(indicator_ids, { id = id, rank = rank == "r" })
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function init(args)
  if mode == "post" then init_post() end
end

-- Only POSTs need a request() function: without one wrk sends its one static GET request,
-- so the client spends as little CPU as possible on the read cases.
local function post_request()
  local slot = k * threads + (tid or 0)
  k = k + 1
  local unit_index = math.floor(slot / #periods) + 1
  if unit_index > unit_count then
    -- Out of free slots: a path that answers 404 makes it visible as errors, never as a
    -- 409 on someone else's slot.
    return wrk.format("GET", "/api/v1/out-of-slots")
  end
  local period = periods[(slot % #periods) + 1]
  local values = {}
  for i, ind in ipairs(indicator_ids) do
    if ind.rank then
      values[i] = string.format(
        '{"indicator_id":%s,"value":%d,"kind":"actual","out_of":12}', ind.id, (slot + i) % 12 + 1)
    else
      values[i] = string.format(
        '{"indicator_id":%s,"value":%d,"kind":"estimate"}', ind.id, (slot * 7 + i) % 300)
    end
  end
  local body = string.format(
    '{"unit_code":"%s%04d","period":"%s","indicator_values":[%s],"results":"Bench draft %d"}',
    unit_prefix, unit_index, period, table.concat(values, ","), slot)
  return wrk.format("POST", "/api/v1/plans/" .. plan .. "/submissions", nil, body)
end

if mode == "post" then
  request = post_request
end

function done(summary, latency, requests)
  local e = summary.errors
  local seconds = summary.duration / 1e6
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_s":%.3f,"rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,' ..
    '"p99_ms":%.3f,"max_ms":%.3f,"mean_ms":%.3f,"non2xx":%d,"socket_errors":' ..
    '{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000, latency.mean / 1000,
    e.status, e.connect, e.read, e.write, e.timeout))
end
