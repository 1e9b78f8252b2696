-- wrk script of bench/server_load.py: readers asking for the ledger and job routes in turn.
--
-- Run with as many threads as connections (wrk -t N -c N): each thread has one connection, so
-- request() and response() pair up and each request's latency is timed here (monotonic clock,
-- microseconds) with the route it asked for. Configured by the environment (the token stays off
-- the command line):
--   HP_TOKEN     bearer token
--   HP_ROUTES    one route a line: name TAB path template; "{rand:N}" is replaced by a random
--                integer in [0, N), "{pick:a,b,c}" by one of a, b, c
--   HP_THINK_MS  mean think time between a reader's requests, ms (exponential; 0: none)
--   HP_MAX       most requests per thread
--   HP_SEED      random seed
-- done() prints, per thread: "L route_index microseconds" per answered 200, "E route_index n"
-- per route with other statuses, and one "S ..." line of wrk's own counts.

local ffi = require("ffi")
ffi.cdef([[
typedef struct { long tv_sec; long tv_nsec; } hp_timespec;
int clock_gettime(int clock_id, hp_timespec *tp);
]])
local ts = ffi.new("hp_timespec")
local function now_us()
  ffi.C.clock_gettime(1, ts) -- CLOCK_MONOTONIC
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

local routes, names = {}, {}
local think_ms, budget = 0, 0
local k, t0, sent, current = 1, 0, 0, 1

function init(args)
  for line in string.gmatch(os.getenv("HP_ROUTES") or "", "[^\n]+") do
    local name, template = string.match(line, "^([^\t]+)\t(.+)$")
    table.insert(names, name)
    table.insert(routes, template)
  end
  think_ms = tonumber(os.getenv("HP_THINK_MS") or "0")
  budget = tonumber(os.getenv("HP_MAX") or "1000000")
  math.randomseed(tonumber(os.getenv("HP_SEED") or "0") * 1000 + thread_id)
  wrk.headers["Authorization"] = "Bearer " .. (os.getenv("HP_TOKEN") or "")
  k = (thread_id - 1) % #routes + 1
  lat_route, lat_us, errors = {}, {}, {}
end

local function expand(template)
  local path = string.gsub(template, "{rand:(%d+)}", function(n)
    return tostring(math.random(0, tonumber(n) - 1))
  end)
  path = string.gsub(path, "{pick:([%d,]+)}", function(list)
    local items = {}
    for item in string.gmatch(list, "%d+") do
      table.insert(items, item)
    end
    return items[math.random(1, #items)]
  end)
  return path
end

function request()
  current = k
  k = k % #routes + 1
  local req = wrk.format("GET", expand(routes[current]))
  t0 = now_us()
  return req
end

function response(status, headers, body)
  local dt = now_us() - t0
  sent = sent + 1
  if status == 200 then
    lat_route[#lat_route + 1] = current
    lat_us[#lat_us + 1] = dt
  else
    errors[current] = (errors[current] or 0) + 1
  end
  if sent >= budget then
    wrk.thread:stop()
  end
end

function delay()
  if think_ms <= 0 then
    return 0
  end
  return -think_ms * math.log(1 - math.random())
end

function done(summary, latency, requests)
  local out = {}
  for _, thread in ipairs(threads) do
    local r, l, e = thread:get("lat_route"), thread:get("lat_us"), thread:get("errors")
    for i = 1, #r do
      out[#out + 1] = string.format("L %d %.1f", r[i], l[i])
    end
    for route, n in pairs(e) do
      out[#out + 1] = string.format("E %d %d", route, n)
    end
  end
  local s = summary.errors
  out[#out + 1] = string.format("S %d %d %d %d %d %d %d", summary.requests, summary.duration,
    s.connect, s.read, s.write, s.status, s.timeout)
  io.write(table.concat(out, "\n") .. "\n")
end
