-- wrk script of bench/load.py: rotates request paths, optionally paces each connection,
-- and reports the run as one JSON line (plus the latency histogram, on request).
--
--   wrk [options] -s bench/wrk/rotate.lua URL -- PATHS_FILE PACE_MS CONNECTIONS_PER_THREAD
--
-- PATHS_FILE holds one request path per line. PACE_MS > 0 turns every connection into a
-- client sending about one request per PACE_MS. Environment (read in done(), which runs in
-- wrk's main Lua state, where init's arguments are not available):
--   SLO_WRK_HISTOGRAM   file to write the latency histogram to: "microseconds count" lines

local paths = {}
local next_index = 0
local threads_seen = 0

function setup(thread)
   threads_seen = threads_seen + 1
   thread:set("thread_number", threads_seen)
end

function init(args)
   local file = assert(io.open(args[1], "r"))
   for line in file:lines() do
      if line ~= "" then
         paths[#paths + 1] = line
      end
   end
   file:close()
   assert(#paths > 0, "no paths in " .. args[1])
   -- Each thread starts at its own place in the list and draws its own delays: two
   -- threads in step would send the same root twice in a row, twice as often as chance.
   next_index = math.floor(#paths * ((thread_number * 0.6180339887) % 1))
   math.randomseed(7919 * thread_number)

   local pace = tonumber(args[2]) or 0
   local connections = tonumber(args[3]) or 1
   if pace > 0 then
      -- Defined only when pacing: wrk checks after init whether `delay` exists, and a
      -- delay of 0 ms would still cost a timer round trip per request.
      local first_delays_left = connections
      local jitter = pace * 0.05
      function delay()
         -- wrk asks for a delay before each connection's very first request too, and
         -- all of those come before any response: spreading them over one period keeps
         -- the connections from firing in lock-step.
         if first_delays_left > 0 then
            first_delays_left = first_delays_left - 1
            return math.random() * pace
         end
         return pace - math.random() * jitter
      end
   end
end

function request()
   next_index = next_index % #paths + 1
   return wrk.format("GET", paths[next_index])
end

function done(summary, latency, requests)
   local histogram_path = os.getenv("SLO_WRK_HISTOGRAM")
   local buckets = 0
   local histogram_written = false
   if histogram_path and summary.requests > 0 then
      buckets = #latency
      -- Each latency(i) walks the histogram from its minimum: quadratic. Past this bound
      -- (minutes of CPU) the harness gets no histogram and says so.
      if buckets * (latency.max - latency.min + 1) <= 4e9 then
         local out = assert(io.open(histogram_path, "w"))
         for i = 1, buckets do
            local microseconds, count = latency(i)
            out:write(string.format("%d %d\n", microseconds, count))
         end
         out:close()
         histogram_written = true
      end
   end
   local e = summary.errors
   io.write(string.format(
      'slo-wrk {"duration_us": %d, "requests": %d, "bytes": %d, "errors": {"connect": %d, '
         .. '"read": %d, "write": %d, "status": %d, "timeout": %d}, "latency_min_us": %d, '
         .. '"latency_max_us": %d, "histogram_written": %s}\n',
      summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write,
      e.status, e.timeout, summary.requests > 0 and latency.min or 0,
      summary.requests > 0 and latency.max or 0, tostring(histogram_written)
   ))
end
