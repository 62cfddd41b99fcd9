-- wrk script for compare_throughput.py: one connection per thread, each with its own session.
--
-- BENCH_COOKIES names a file with one "name=value" cookie per line, one line per thread.
-- Each request sends its thread's cookie; a Set-Cookie in the response replaces it (cookie
-- sessions change their value on every write). done() prints one line starting with
-- "WRK-JSON " with the totals, p50/p99 latency (µs) and each thread's final cookie,
-- response count and count of non-200 answers.

local cookies = {}
for line in io.lines(os.getenv("BENCH_COOKIES")) do
   cookies[#cookies + 1] = line
end

local threads = {}

function setup(thread)
   local n = #threads + 1
   thread:set("cookie", cookies[n])
   thread:set("id", n)
   threads[n] = thread
end

function init(args)
   responses = 0
   non200 = 0
end

function request()
   return wrk.format("GET", "/", {["Cookie"] = cookie})
end

function response(status, headers, body)
   responses = responses + 1
   if status ~= 200 then
      non200 = non200 + 1
   end
   for name, value in pairs(headers) do
      if string.lower(name) == "set-cookie" then
         cookie = string.match(value, "^%s*([^;]*)")
      end
   end
end

local function quote(text)
   return '"' .. string.gsub(text, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local e = summary.errors
   local parts = {}
   for i, thread in ipairs(threads) do
      parts[i] = string.format(
         '{"id": %d, "cookie": %s, "responses": %d, "non200": %d}',
         thread:get("id"), quote(thread:get("cookie")), thread:get("responses"),
         thread:get("non200"))
   end
   io.write(string.format(
      'WRK-JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, '
      .. '"threads": [%s]}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
