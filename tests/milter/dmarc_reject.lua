-- dmarc_reject: From domains publishing p=reject whose mail fails DMARC
-- get 550 5.7.1 naming the policy domain; the aggregate-report record
-- goes to the spool (SpoolDir), with the first recipient's domain.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
T.check(not mt.test_option(c, SMFIP_NORCPT),
    "RCPT kept: the spool wants the recipient domain")
T.check(mt.test_option(c, SMFIP_NR_RCPT), "but needs no reply for it")
-- example.com: p=reject; no signature, 198.51.100.9 fails its SPF
T.send(c, {ip = "198.51.100.9", headers = T.headers(),
    rcpt = "<someone@rcpt.example>"})
T.check(mt.getreply(c) == SMFIR_REPLYCODE, "rejected with a reply code")
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "550 5.7.1 naming example.com")
T.check(T.log_has("dmarc=fail policy=\"example%.com\" action=reject"),
    "log line says dmarc=fail and reject")

-- reject.example: p=reject, signs nothing
T.send(c, {again = true, ip = "198.51.100.9",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of reject.example"),
    "550 for reject.example")
mt.disconnect(c)

local p = io.popen("cat " .. T.dir .. "/spool/*.jsonl")
local spool = p:read("*a")
p:close()
local _, n = spool:gsub("\n", "")
T.check(n == 2, "two spool records")
T.check(spool:find('"disposition":"reject"', 1, true) ~= nil,
    "spool record says reject")
T.check(spool:find('"envelope_to":"rcpt.example"', 1, true) ~= nil,
    "spool record has the recipient domain")
T.done()
