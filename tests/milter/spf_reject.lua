-- spf_reject: with SPFRejectFail an SPF fail is rejected (550 5.7.23),
-- before DMARC is looked at; SPF pass and none go on to DMARC.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.check(mt.test_option(c, SMFIP_NR_MAIL), "MAIL needs no reply")
T.send(c, {ip = "198.51.100.9", from = "<x@reject.example>",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.23",
    "SPF check failed for the MAIL FROM domain"), "550 5.7.23 on SPF fail")
T.check(T.log_has("spf=fail .*action=reject %(SPF fail%)"), "log says why")

mt.disconnect(c)

-- 192.0.2.10 passes example.com's SPF
c = T.open()
T.send(c, {ip = "192.0.2.10", headers = T.headers()})
T.check(T.accepted(c), "SPF pass accepted")
mt.disconnect(c)
T.done()
