-- wrk script: replays a z/x/y tile list (zxy-*.txt) against the hex layer,
-- as the shared peer figures were measured (wrk, every tile of the list in
-- turn, uncached), with Accept-Encoding: gzip as a browser sends it.
--
--   wrk -t2 -c8 -d10s -s wrk-hex.lua http://127.0.0.1:PORT -- zxy-high.txt [query]
--
-- Each thread starts at its own offset in the list. done() prints one line,
-- "WRK requests seconds p50_ms p99_ms errors", for scripts/bench-tiles.sh.

local threads = 0

function setup(thread)
	thread:set("offset", threads * 613)
	threads = threads + 1
end

local paths = {}
local i = 0

function init(args)
	local list, query = args[1], args[2] or "window=all"
	for line in io.lines(list) do
		local z, x, y = line:match("^%s*(%d+)/(%d+)/(%d+)")
		if z then
			paths[#paths + 1] = string.format("/tiles/hex/%s/%s/%s.mvt?%s", z, x, y, query)
		end
	end
	i = (offset or 0) % #paths
end

function request()
	i = i % #paths + 1
	return wrk.format("GET", paths[i], { ["Accept-Encoding"] = "gzip" })
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("WRK %d %.3f %.3f %.3f %d\n", summary.requests, summary.duration / 1e6,
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.connect + e.read + e.write + e.status + e.timeout))
end
