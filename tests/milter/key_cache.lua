-- key_cache: the parsed DKIM keys are shared by all connections. The
-- same signed message arrives on three connections and a fourth
-- connection sends it twice: every one passes, and the reload notice
-- (which prints the cache's counters) shows the key record was parsed
-- once and answered from the cache four times. A reload that keeps the
-- DNS options keeps the cache: one more message after it is a hit too.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local body = "Hello.\r\n"
local signed = T.signed(T.headers(), body)

local function passes(c, what)
	T.check(T.accepted(c), what .. ": accepted")
	local ar = mt.getheader(c, "Authentication-Results", 0)
	T.check(ar ~= nil and ar:find("dkim=pass header.d=example.com " ..
	    "header.s=demo-rsa", 1, true) ~= nil, what .. ": dkim=pass")
end

for i = 1, 3 do
	local c = T.open()
	T.send(c, {ip = "198.51.100.9", headers = signed, body = body})
	passes(c, "connection " .. i)
	mt.disconnect(c)
end
local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed, body = body})
passes(c, "connection 4, first message")
T.send(c, {again = true, headers = signed, body = body})
passes(c, "connection 4, second message")
mt.disconnect(c)

os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reloaded .*resolver kept %(parsed DKIM keys so far: " ..
    "1 held, 4 hits, 1 parsed%)"),
    "one parse for five messages on four connections")

c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed, body = body})
passes(c, "after the reload")
mt.disconnect(c)
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("parsed DKIM keys so far: 1 held, 5 hits, 1 parsed%)"),
    "the reload kept the cache: a hit after it")
T.done()
