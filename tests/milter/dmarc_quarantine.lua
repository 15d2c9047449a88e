-- dmarc_quarantine: p=quarantine failures go to the MTA's hold queue
-- (smfi_quarantine) and are accepted.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.check(mt.test_action(c, SMFIF_QUARANTINE), "asked for quarantine")
T.send(c, {ip = "198.51.100.9",
    headers = {{"From", " x@quarantine.example"}, {"Subject", " s"}}})
T.check(T.accepted(c), "accepted")
T.check(mt.eom_check(c, MT_QUARANTINE), "quarantined")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dmarc=fail", 1, true) ~= nil, "dmarc=fail")
T.check(T.log_has("action=quarantine"), "log says quarantine")
mt.disconnect(c)
T.done()
