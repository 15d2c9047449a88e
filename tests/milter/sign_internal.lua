-- sign_internal: a client in InternalHosts gets its mail signed; the
-- DKIM-Signature is inserted at the top and dkimpy verifies it.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.check(mt.test_option(c, SMFIP_HDR_LEADSPC), "negotiated HDR_LEADSPC")
T.check(mt.test_option(c, SMFIP_NR_HDR), "negotiated no reply for headers")
T.check(mt.test_option(c, SMFIP_NR_BODY), "negotiated no reply for body")
T.check(mt.test_option(c, SMFIP_NODATA), "negotiated no DATA")
T.check(mt.test_option(c, SMFIP_NOUNKNOWN), "negotiated no unknown")
T.check(mt.test_option(c, SMFIP_NORCPT), "no RCPT without a spool")
T.check(mt.test_action(c, SMFIF_ADDHDRS), "asked to add headers")
T.check(mt.test_action(c, SMFIF_CHGHDRS), "asked to change headers")

local h = T.headers()
local body = "Hello.\r\n\r\nA second paragraph.\r\n"
T.send(c, {ip = "203.0.113.7", headers = h, body = body})
T.check(T.accepted(c), "accepted")
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "DKIM-Signature inserted")
local sig = mt.getheader(c, "DKIM-Signature", 0)
T.check(sig ~= nil and sig:find("d=example.com;", 1, true) ~= nil, "d=")
T.check(sig:find("s=demo%-rsa;") ~= nil, "s=")
T.check(sig:find("a=rsa%-sha256;") ~= nil, "a=")
T.check(sig:find("h=From:From:") ~= nil, "From oversigned")
T.check(sig:sub(1, 1) == " ", "value starts with a space (HDR_LEADSPC)")
T.check(sig:find("\r", 1, true) == nil, "folds are LF for the MTA")
T.check(not mt.eom_check(c, MT_HDRINSERT, "Authentication-Results"),
    "no A-R on signed mail")
local f = T.write("signed.eml", {{"DKIM-Signature", sig}}, h, body)
T.check(T.dkimpy(f), "dkimpy verifies the signature")
T.check(T.log_has("4QUEUEID: client=203%.0%.113%.7 from=\"example%.com\" " ..
    "signed d=\"example%.com\" s=\"demo%-rsa\" a=rsa%-sha256 action=accept"),
    "log line says signed, with queue id")

-- a second message on the same connection is signed too
T.send(c, {again = true, headers = h, body = body})
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "second message on the connection signed")

-- another From domain has no key: not signed, the log says why
T.send(c, {again = true, headers = {{"From", " a@example.org"}},
    body = body})
T.check(not mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"),
    "no key for example.org: not signed")
T.check(T.log_has("not signed %(\"Domain does not list"),
    "log says why not signed")
mt.disconnect(c)
T.done()
