-- verify: inbound mail from an external client is verified: a valid
-- signature gives dkim=pass in our Authentication-Results header (and
-- DMARC passes through it although SPF fails), a body changed in transit
-- dkim=fail, no signature dkim=none; with SPF passing DMARC passes and
-- the message is accepted in every case.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local h = T.headers()
local body = "Hello.\r\n"
local signed = T.signed(h, body)

local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed, body = body})
T.check(T.accepted(c), "pass: accepted")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil, "pass: A-R inserted")
T.check(ar:find("^ mx%.test%.example;") ~= nil, "pass: our authserv-id")
T.check(ar:find("dkim=pass header.d=example.com header.s=demo-rsa", 1,
    true) ~= nil, "pass: dkim=pass with d= and s=")
T.check(ar:find("spf=fail", 1, true) ~= nil, "pass: spf=fail (198.51.100.9)")
T.check(ar:find("dmarc=pass", 1, true) ~= nil, "pass: dmarc=pass")
T.check(not mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "pass: inbound mail not signed")
T.check(T.log_has("client=198%.51%.100%.9 from=\"example%.com\" not signed " ..
    "%(\"external client, not authenticated\"%) dkim=pass"),
    "pass: log line")

mt.disconnect(c)

-- 192.0.2.10 is allowed by example.com's SPF record
c = T.open()
T.send(c, {ip = "192.0.2.10", headers = signed, body = "Hello, changed.\r\n"})
T.check(T.accepted(c), "fail: accepted")
ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar:find("dkim=fail", 1, true) ~= nil, "fail: dkim=fail")
T.check(ar:find("body hash", 1, true) ~= nil, "fail: reason names the body hash")
T.check(ar:find("spf=pass", 1, true) ~= nil, "fail: spf=pass")
T.check(ar:find("dmarc=pass", 1, true) ~= nil, "fail: dmarc=pass through SPF")

T.send(c, {again = true, headers = h, body = body})
ar = mt.getheader(c, "Authentication-Results", 0)
T.check(T.accepted(c), "unsigned: accepted")
T.check(ar:find("dkim=none", 1, true) ~= nil, "unsigned: dkim=none")
mt.disconnect(c)
T.done()
