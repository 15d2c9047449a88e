-- sign_auth: an external client that authenticated (SMTP AUTH, the
-- {auth_authen} macro) gets its mail signed; the same client without
-- AUTH is verified instead.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
local h = T.headers()
T.send(c, {ip = "198.51.100.9", auth = "alice", headers = h})
T.check(T.accepted(c), "accepted")
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "authenticated client signed")
local f = T.write("auth.eml", {{"DKIM-Signature",
    mt.getheader(c, "DKIM-Signature", 0)}}, h, "Hello.\r\n")
T.check(T.dkimpy(f), "dkimpy verifies the signature")
mt.disconnect(c)

c = T.open()
T.send(c, {ip = "198.51.100.9", headers = h})
T.check(not mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "same client without AUTH not signed")
T.check(mt.eom_check(c, MT_HDRINSERT, "Authentication-Results"),
    "verified instead (A-R inserted)")
mt.disconnect(c)
T.done()
