-- reload_oom: a reload that runs out of memory keeps the old
-- configuration serving and the daemon running. The daemon is the
-- authmilter-oom test build (oom_inject.c): reload N makes the Nth
-- allocation of that reload fail, so SIGHUPs one after the other fail
-- every allocation of a reload in turn, until one reload runs with none
-- failing. The configuration on disk signs with demo-ed instead of
-- demo-rsa, and has another DNSTimeout, so that each reload builds a new
-- resolver too: every failed reload must leave demo-rsa signing, and the
-- reload that finally succeeds switches to demo-ed. The ARC key
-- (reload_oom.conf) stays: reloads take it over from the snapshot in use
-- (a reload whose failed allocation was the pool of keys to take over
-- parses them again instead, and succeeds).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local function selector()
	local c = T.open()
	T.send(c, {ip = "203.0.113.7", headers = T.headers()})
	local sig = mt.getheader(c, "DKIM-Signature", 0)
	mt.disconnect(c)
	return sig and sig:match("s=([%w%-]+);")
end

local function count(s, pattern)
	return select(2, s:gsub(pattern, ""))
end

-- wait until the log holds n reload outcomes; returns the log
local function outcomes(n)
	for _ = 1, 1000 do
		local s = T.read(T.log)
		if count(s, "reload of [^\n]* failed") +
		    count(s, "notice: reloaded ") >= n then
			return s
		end
		mt.sleep(0.01)
	end
	T.must(false, "no outcome for reload " .. n)
end

T.check(selector() == "demo-rsa", "signs with demo-rsa")
T.set_conf(T.read(T.conf):gsub("\nSelector demo%-rsa", "\nSelector demo-ed")
    :gsub("\nKeyFile ([^\n]*)demo%-rsa", "\nKeyFile %1demo-ed")
    :gsub("DNSTimeout 2", "DNSTimeout 3"))

local log, n = "", 0
repeat
	n = n + 1
	os.execute("kill -HUP " .. T.pid)
	log = outcomes(n)
	local want = log:find("notice: reloaded ") and "demo-ed" or "demo-rsa"
	-- a message after the first reloads and every 20th: the snapshot
	-- that the log says is current serves it
	if n <= 5 or n % 20 == 0 then
		T.must(selector() == want, "reload " .. n .. ": signs with "
		    .. want)
	end
	T.must(n < 3000, "the injection does not end")
until log:find("oom_inject: reload %d+: the previous reload had fewer")

local failed = count(log, "reload of [^\n]* failed")
local oom = count(log, "reload of [^\n]* failed %(Cannot allocate memory%)")
print("reloads " .. n .. ", failed " .. failed .. " (" .. oom ..
    " out of memory), allocations made to fail " ..
    count(log, "this allocation fails"))
-- reloads 1..n-2 each failed an allocation; reload n-1 had fewer than
-- n-1 to make; reload n ran with nothing armed
T.check(count(log, "this allocation fails") == n - 2,
    "reload k made its k-th allocation fail, for every k")
T.check(failed > 20, "many reloads failed")
T.check(oom > 20, "most for want of memory, said so")
T.check(not log:find("out of memory allocating"),
    "never the exit of the startup allocators")
T.check(not log:find("error: [^\n]*: \n"),
    "no error line without its reason (key files say out of memory)")
T.check(log:find("notice: reloaded [^\n]*resolver rebuilt"),
    "the reload with nothing failing took effect")
local last
for kept, loaded in log:gmatch("notice: reloaded [^\n]*private keys: " ..
    "(%d+) kept, (%d+) loaded") do
	T.must(kept + loaded == 2, "two private keys, kept or loaded")
	last = kept .. " kept, " .. loaded .. " loaded"
end
T.check(last == "2 kept, 0 loaded",
    "the last reload took both keys over (" .. tostring(last) .. ")")
T.check(selector() == "demo-ed", "the new configuration signs")
T.done()
