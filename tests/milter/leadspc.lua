-- leadspc: with SMFIP_HDR_LEADSPC header values arrive byte-exact, so a
-- signature with simple header canonicalization over fields with odd
-- spacing, tabs and folds (which the MTA passes as bare LF) verifies
-- with dkimpy on the message as delivered. (miltertest always sends one
-- space first, so values without one cannot be tested here; the e2e
-- test covers Postfix.)
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.check(mt.test_option(c, SMFIP_HDR_LEADSPC), "HDR_LEADSPC negotiated")
local h = {
	{"From", "   User <user@example.com>  "},
	{"To", " \trcpt@example.net\t"},
	{"Subject", "  two  spaces\n\tand a folded  line\n  with spaces"},
	{"Date", " Mon, 23 Nov 2026 12:00:00 +0000"},
	{"Message-ID", "  <twospaces@example.com>"},
}
local body = "Body  with  spaces \r\n\r\n\r\n"
T.send(c, {ip = "203.0.113.7", headers = h, body = body})
local sig = mt.getheader(c, "DKIM-Signature", 0)
T.check(sig ~= nil and sig:find("c=simple/simple;", 1, true) ~= nil,
    "signed with c=simple/simple")
local f = T.write("leadspc.eml", {{"DKIM-Signature", sig}}, h, body)
T.check(T.dkimpy(f), "dkimpy verifies the simple signature")

-- the same bytes with one space less after a colon must fail: the test
-- would pass for the wrong reason otherwise
local h2 = {}
for i, x in ipairs(h) do h2[i] = x end
h2[3] = {"Subject", " two  spaces\n\tand a folded  line\n  with spaces"}
f = T.write("leadspc-bad.eml", {{"DKIM-Signature", sig}}, h2, body)
T.check(not T.dkimpy(f), "one space less breaks the signature")
mt.disconnect(c)
T.done()
