-- dns_failure: the DNS server does not answer: a signed inbound message
-- is still accepted (OnDNSError accept, the default), with
-- dkim=temperror recorded.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local h = T.headers()
local signed = T.signed(h)
local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed})
T.check(T.accepted(c), "accepted")
T.check(mt.getreply(c) == SMFIR_CONTINUE, "no SMTP reply set")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dkim=temperror", 1, true) ~= nil,
    "dkim=temperror recorded")
T.check(T.log_has("dkim=temperror .* action=accept %(temperror%)"),
    "log line says accepted with temperror")
mt.disconnect(c)
T.done()
