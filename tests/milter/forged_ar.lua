-- forged_ar: every Authentication-Results field that claims our
-- authserv-id (whatever its case, comments or version) is deleted before
-- ours is inserted; fields of other authserv-ids stay.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
local h = T.headers({
	{"Authentication-Results", " other.example; dkim=pass"},
	{"Authentication-Results", " mx.test.example; dkim=pass header.d=example.com"},
	{"Authentication-Results", " (forged) MX.Test.Example 1; dmarc=pass"},
	{"Authentication-Results", " mx.test.example.evil; spf=pass"},
})
T.send(c, {ip = "192.0.2.10", headers = h})
T.check(T.accepted(c), "accepted")
T.check(mt.eom_check(c, MT_HDRDELETE, "Authentication-Results"),
    "forged A-R deleted")
T.check(mt.eom_check(c, MT_HDRINSERT, "Authentication-Results"),
    "our A-R inserted")
T.check(T.log_has("removed%-authres=2"), "exactly two removed (log)")
mt.disconnect(c)

-- internal (signed) mail loses a forged field too
c = T.open()
T.send(c, {ip = "203.0.113.7", headers = h})
T.check(mt.eom_check(c, MT_HDRDELETE, "Authentication-Results"),
    "forged A-R deleted on signed mail")
mt.disconnect(c)
T.done()
