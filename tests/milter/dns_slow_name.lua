-- dns_slow_name: the DNS server is slow for one name only
-- (slow.example.net, 20 s late: dns_slow_name.proxy), a name any sender
-- can make us look up (here as its MAIL FROM domain, for SPF). That
-- message's SPF ends in temperror; the lookups of every other message,
-- for other names, are unaffected: a spoof of a p=reject domain right
-- after it is rejected, not waved through with temperror.
dofile(os.getenv("MT_HERE") .. "/lib.lua")
mt.set_timeout(60)

local proxy = os.getenv("MT_PROXY_LOG")
local signed = T.signed(T.headers())

-- the slow lookup: signed by example.com, MAIL FROM slow.example.net
local c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<user@slow.example.net>",
    headers = signed})
local ar = T.authres(c)
T.check(ar:find("spf=temperror", 1, true) ~= nil,
    "the slow name's SPF: temperror")
T.check(ar:find("dkim=pass", 1, true) ~= nil and
    ar:find("dmarc=pass", 1, true) ~= nil,
    "DKIM and DMARC of that message unaffected")
mt.disconnect(c)
T.check(T.file_has(proxy, "delay slow%.example%.net TXT"),
    "the proxy held the slow name")

-- then, for other names: a spoof of reject.example (p=reject)
c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<x@reject.example>",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of reject.example"),
    "a spoof of reject.example right after: 550 5.7.1")
T.check(T.authres(c):find("temperror", 1, true) == nil, "no temperror")
mt.disconnect(c)

-- quarantine.example (p=quarantine): held
c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<x@quarantine.example>",
    headers = {{"From", " x@quarantine.example"}, {"Subject", " s"}}})
T.check(mt.eom_check(c, MT_QUARANTINE), "quarantine.example: held")
mt.disconnect(c)

-- and example.com from its own network: spf=pass
c = T.open()
T.send(c, {ip = "192.0.2.25", headers = signed})
ar = T.authres(c)
T.check(ar:find("spf=pass", 1, true) ~= nil and
    ar:find("dmarc=pass", 1, true) ~= nil, "example.com: spf=pass dmarc=pass")
mt.disconnect(c)
T.done()
