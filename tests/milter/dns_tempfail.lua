-- dns_tempfail: with OnDNSError tempfail a message that could not be
-- verified because DNS failed gets 451 4.7.5 (the client retries).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local h = T.headers()
local signed = T.signed(h)
local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed})
T.check(mt.getreply(c) == SMFIR_REPLYCODE, "a reply code was set")
-- (this miltertest's two-parameter MT_SMTPREPLY form is unreliable:
-- the whole reply is checked)
T.check(mt.eom_check(c, MT_SMTPREPLY, "451", "4.7.5",
    "DNS lookup failed, try again later"), "451 4.7.5 with its text")
T.check(T.log_has("dkim=temperror .* action=tempfail"), "log says tempfail")

mt.disconnect(c)

-- signing needs no DNS: mail from internal clients still flows
c = T.open()
T.send(c, {ip = "203.0.113.7", headers = h})
T.check(T.accepted(c), "internal mail accepted")
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"), "and signed")
mt.disconnect(c)
T.done()
