-- quarantine_header: with "Quarantine header" a p=quarantine failure is
-- only marked in the Authentication-Results header; and with
-- "RejectFailures no" a p=reject failure is not rejected but treated
-- as quarantine (here: the header only).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.send(c, {ip = "198.51.100.9",
    headers = {{"From", " x@quarantine.example"}, {"Subject", " s"}}})
T.check(T.accepted(c), "quarantine.example accepted")
T.check(not mt.eom_check(c, MT_QUARANTINE), "not held")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dmarc=fail", 1, true) ~= nil, "dmarc=fail")

T.send(c, {again = true, ip = "198.51.100.9",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
T.check(T.accepted(c), "reject.example accepted (RejectFailures no)")
T.check(not mt.eom_check(c, MT_QUARANTINE), "not held either")
mt.disconnect(c)
T.done()
