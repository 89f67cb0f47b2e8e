-- wrk script for bench/run.js's paced phase: every connection waits PACE_MS (the script's first
-- argument, after `--`) after each answer before it sends its next request, so the backend is
-- not saturated and latency shows what a request costs rather than how long it queued.
-- wrk starts a request's clock when it sends it, so the wait is not counted in the latency.
local pace_ms = 10

function init(args)
  pace_ms = tonumber(args[1]) or pace_ms
end

function delay()
  return pace_ms
end
