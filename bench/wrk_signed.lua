-- wrk script for `make bench`: cycles through requests signed in advance by
-- bench/load.py (wrk's LuaJIT has no HMAC-SHA256), one per line:
--   webhook-id <TAB> webhook-timestamp <TAB> webhook-signature <TAB> body
-- Usage: wrk -s wrk_signed.lua URL -- FILE THREADS
-- Thread k of n takes lines k, k+n, k+2n... so no two threads send the same id.
local threads = {}
local reqs = {}
local counter = 1

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, n = args[1], tonumber(args[2])
  local i = 0
  for line in io.lines(path) do
    if i % n == tid then
      local id, ts, sig, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
      reqs[#reqs + 1] = wrk.format("POST", nil, {
        ["Content-Type"] = "application/json",
        ["webhook-id"] = id,
        ["webhook-timestamp"] = ts,
        ["webhook-signature"] = sig,
      }, body)
    end
    i = i + 1
  end
end

function request()
  local r = reqs[counter]
  counter = counter + 1
  if counter > #reqs then counter = 1 end
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
