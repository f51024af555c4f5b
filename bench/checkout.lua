-- wrk script for bench/checkout.py: every request presses Order for a cart of its own (cookies from a file, split
-- between the threads); a thread stops when its carts are used up. Counts orders placed, "sold out" and errors.
local counter = 0
local threads = {}

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  cookies = {}
  local i = 0
  local n = tonumber(os.getenv("BENCH_WRK_THREADS"))
  for line in io.lines(os.getenv("BENCH_COOKIES")) do
    if i % n == id then table.insert(cookies, line) end
    i = i + 1
  end
  index, placed, soldout, errors = 0, 0, 0, 0
  body = os.getenv("BENCH_BODY")
  csrf = os.getenv("BENCH_CSRF")
end

function request()
  index = index + 1
  if index > #cookies then
    wrk.thread:stop()
    return wrk.format("GET", "/healthz")
  end
  return wrk.format("POST", "/en/checkout/", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = "cart=" .. cookies[index] .. "; csrftoken=" .. csrf,
  }, body)
end

function response(status, headers, body)
  if index >= #cookies then wrk.thread:stop() end
  local location = headers["Location"] or ""
  if status == 302 and location:find("/order/") then
    placed = placed + 1
  elseif status == 302 and location:find("/cart/") then
    soldout = soldout + 1
  elseif status ~= 200 then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local p, s, e = 0, 0, 0
  for _, thread in ipairs(threads) do
    p = p + thread:get("placed")
    s = s + thread:get("soldout")
    e = e + thread:get("errors")
  end
  io.write(string.format("WRK placed=%d soldout=%d errors=%d p50_ms=%.1f p99_ms=%.1f seconds=%.3f\n",
    p, s, e, latency:percentile(50) / 1000, latency:percentile(99) / 1000, summary.duration / 1e6))
end
