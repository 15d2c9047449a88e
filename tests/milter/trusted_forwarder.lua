-- trusted_forwarder: mail from a client in TrustedForwarders that fails
-- DMARC is not rejected; the A-R and the report record say why
-- (trusted_forwarder). A client outside the list is still rejected.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
-- example.com: p=reject; no signature; 198.51.100.9 is a trusted forwarder
T.send(c, {ip = "198.51.100.9", headers = T.headers(),
    rcpt = "<someone@rcpt.example>"})
T.check(mt.getreply(c) == SMFIR_ACCEPT or mt.getreply(c) == SMFIR_CONTINUE,
    "accepted although DMARC fails")
T.check(mt.eom_check(c, MT_HDRINSERT, "Authentication-Results"),
    "A-R inserted")
local ar = mt.getheader(c, "Authentication-Results", 0) or ""
T.check(ar:find("dmarc=fail", 1, true) ~= nil, "dmarc=fail in the A-R")
T.check(ar:find("override=trusted_forwarder", 1, true) ~= nil,
    "the A-R names the trusted_forwarder override")
mt.disconnect(c)

-- 198.51.100.200 is outside 198.51.100.0/25: rejected as usual
c = T.open()
T.send(c, {ip = "198.51.100.200", headers = T.headers(),
    rcpt = "<someone@rcpt.example>"})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "550 outside the forwarders")
mt.disconnect(c)

local p = io.popen("cat " .. T.dir .. "/spool/*.jsonl")
local spool = p:read("*a")
p:close()
T.check(spool:find('"type":"trusted_forwarder"', 1, true) ~= nil,
    "report record carries the trusted_forwarder reason")
T.done()
