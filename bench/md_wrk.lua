-- md_wrk.lua: wrk script of vr-metadata's benchmark (bench/md_bench.sh,
-- docs/performance.md).  Each request is the next path of the file named by
-- $MD_PATHS (the paths cloud-init's crawl of one VM's tree fetched), in turn;
-- each thread starts at its own offset.  Headers given with -H (such as
-- "Connection: close") go into every request.  At the end it prints one
-- RESULT line: requests, rate, latency percentiles (ms) and errors.
local paths = {}
local f = assert(io.open(assert(os.getenv("MD_PATHS"), "MD_PATHS not set"), "r"))
for line in f:lines() do
	if #line > 0 then
		paths[#paths + 1] = line
	end
end
f:close()
assert(#paths > 0, "no paths in " .. os.getenv("MD_PATHS"))

local threads = 0
local reqs, i = {}, 0

function setup(thread)
	thread:set("offset", threads * 7)
	threads = threads + 1
end

function init(args)
	for k, p in ipairs(paths) do
		reqs[k] = wrk.format("GET", p)   -- wrk.headers: Host and every -H header
	end
	i = (offset or 0) % #reqs
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end

function done(summary, latency, requests)
	local e, secs = summary.errors, summary.duration / 1e6
	io.write(string.format("RESULT mode=wrk requests=%d duration_s=%.3f rps=%.1f "
		.. "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f mean_ms=%.3f max_ms=%.3f bytes=%d "
		.. "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d paths=%d\n",
		summary.requests, secs, summary.requests / secs, latency:percentile(50) / 1000,
		latency:percentile(90) / 1000, latency:percentile(99) / 1000, latency.mean / 1000,
		latency.max / 1000, summary.bytes, e.connect, e.read, e.write, e.status,
		e.timeout, #paths))
end
