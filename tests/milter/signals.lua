-- signals (run by signals.sh, once per round): a message in flight, then
-- SIGHUP and SIGTERM one right after the other. The message must still
-- be signed and accepted, and the daemon must reload and then stop
-- cleanly (signals.sh checks its exit and its log). On the first round
-- the signal masks of all threads are checked too: HUP, TERM and INT
-- are blocked in every thread but the main one.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.in_flight()

-- whether SigBlk (hex) of /proc/PID/task/TID/status blocks HUP (bit 0),
-- INT (bit 1) and TERM (bit 14)
local function blocks_all(tid)
	local f = io.open("/proc/" .. T.pid .. "/task/" .. tid .. "/status")
	if f == nil then
		return true	-- the thread has gone
	end
	local hex = f:read("*a"):match("\nSigBlk:%s*(%x+)")
	f:close()
	local v = tonumber(hex:sub(-4), 16)
	return v % 2 == 1 and math.floor(v / 2) % 2 == 1 and
	    math.floor(v / 16384) % 2 == 1
end

if os.getenv("MT_ROUND") == "1" then
	local open, n = {}, 0
	local p = io.popen("ls /proc/" .. T.pid .. "/task")
	for tid in p:lines() do
		n = n + 1
		if not blocks_all(tid) then
			open[#open + 1] = tid
		end
	end
	p:close()
	T.check(n >= 4, n .. " threads (libmilter's among them)")
	T.check(#open == 1 and open[1] == T.pid,
	    "HUP, TERM and INT are open in the main thread only (open in: "
	    .. table.concat(open, " ") .. ")")
end

os.execute("kill -HUP " .. T.pid .. "; kill -TERM " .. T.pid)
T.must(mt.eom(c) == nil, "eom")
T.check(T.accepted(c), "the message in flight is accepted")
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"), "and signed")
mt.disconnect(c)
T.done()
