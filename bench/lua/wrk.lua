-- wrk script for make bench. OP picks the request; TASKS bounds the random ids.
-- done() prints one machine-readable line that scripts/bench.sh parses.
local op = os.getenv("OP") or "get"
local tasks = tonumber(os.getenv("TASKS") or "10000")
local path = os.getenv("REQ_PATH") or "/v1/tasks"
local json = { ["Content-Type"] = "application/json" }
local body = '{"title":"bench task","description":"written by make bench","expiry_dt":"2099-06-01T00:00:00Z"}'

function setup(thread)
  -- Distinct random sequences per thread.
  thread:set("seed", math.random(1, 1e9))
end

function init()
  math.randomseed(seed or os.time())
end

function request()
  if op == "get" then
    return wrk.format("GET", "/v1/tasks/" .. math.random(1, tasks))
  elseif op == "post" then
    return wrk.format("POST", "/v1/tasks", json, body)
  elseif op == "put" then
    return wrk.format("PUT", "/v1/tasks/" .. math.random(1, tasks), json, body)
  elseif op == "patch" then
    return wrk.format("PATCH", "/v1/tasks/" .. math.random(1, tasks), json, '{"title":"patched by make bench"}')
  else
    return wrk.format("GET", path)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d non2xx=%d sockerr=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
