-- wrk script for bench/http_load.py: each request is a random line of the file given after `--`:
-- path <TAB> Authorization <TAB> Cookie <TAB> client address (sent as X-Forwarded-For through one trusted proxy).

local lines = {}

function init(args)
  for line in io.lines(args[1]) do
    local path, authorization, cookie, address = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t([^\t]*)$")
    local headers = {["X-Forwarded-For"] = address}
    if authorization ~= "" then headers["Authorization"] = authorization end
    if cookie ~= "" then headers["Cookie"] = cookie end
    lines[#lines + 1] = wrk.format("GET", path, headers)
  end
  math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)"), 16) % 1000)
end

function request()
  return lines[math.random(#lines)]
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1000000
  io.write(string.format(
    'RESULT {"rps": %.2f, "p50_us": %d, "p99_us": %d, "non2xx": %d, "socket_errors": %d, "requests": %d}\n',
    summary.requests / seconds, latency:percentile(50), latency:percentile(99), summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.requests))
end
