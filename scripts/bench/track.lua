-- wrk script: POST /api/v1/track with CART_UPDATE events.
-- Environment: BENCH_KEY (secret key), BENCH_MODE=unique|repeat.
-- unique: every request a new session; repeat: 1,000 sessions updated over and over.
local key = os.getenv("BENCH_KEY")
local mode = os.getenv("BENCH_MODE") or "unique"
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("thread_id", next_id)
end

function init(args)
  thread_id = tonumber(wrk.thread:get("thread_id")) or 0
  math.randomseed(os.time() + thread_id * 7919)
end

local run = tostring(os.time())

function request()
  counter = counter + 1
  local session
  if mode == "repeat" then
    session = "bench-r-" .. math.random(1, 1000)
  else
    session = "bench-" .. run .. "-" .. thread_id .. "-" .. counter
  end
  local body = '{"event":"CART_UPDATE","sessionId":"' .. session ..
    '","items":[{"id":"sku-1","name":"Linen shirt","price":49.90,"quantity":1},' ..
    '{"id":"sku-2","name":"Socks","price":9.50,"quantity":' .. (counter % 5 + 1) .. '}],' ..
    '"total":' .. string.format("%.2f", 49.90 + 9.50 * (counter % 5 + 1)) ..
    ',"currency":"EUR","customerEmail":"shopper' .. (counter % 997) .. '@example.com"}'
  return wrk.format("POST", "/api/v1/track",
    {["Content-Type"] = "application/json", ["X-API-Key"] = key}, body)
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local ok = summary.requests - non2xx - summary.errors.connect - summary.errors.read
    - summary.errors.write - summary.errors.timeout
  io.write(string.format("RESULT ok_per_s=%.0f p50_ms=%.2f p99_ms=%.2f non2xx=%d socket_errors=%d\n",
    ok / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    non2xx, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
