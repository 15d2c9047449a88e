-- dns_budget: DNSTimeBudget 2 with a name that answers 30 s late
-- (slow.example.net, the MAIL FROM domain: dns_budget.proxy), DNSTimeout
-- 5. The SPF check still waiting when the 2 s are spent ends in
-- temperror, and DMARC is evaluated with what was learned (the policy is
-- asked first): a spoof of example.com (p=reject) is rejected, a message
-- DKIM-signed by example.com passes. `authmilter verify` with the same
-- budget gives the same verdict. The budget is per message.
dofile(os.getenv("MT_HERE") .. "/lib.lua")
mt.set_timeout(60)

local h = T.headers()
local signed = T.signed(h)

-- a spoof: unsigned, MAIL FROM the slow name
local c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<user@slow.example.net>",
    headers = h})
local ar = T.authres(c)
-- (parentheses inside an A-R comment are escaped)
T.check(ar:find("spf=temperror (slow.example.net TXT: DNS time budget " ..
    "of this message \\(2 s\\) spent)", 1, true) ~= nil,
    "spf=temperror: the budget is spent")
T.check(ar:find("dmarc=fail", 1, true) ~= nil, "dmarc=fail")
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "the p=reject policy applies: 550 5.7.1")
T.check(T.log_has("spf=temperror dmarc=fail policy=\"example%.com\" " ..
    "dns=budget%-spent action=reject"), "the log line says so")
mt.disconnect(c)
local spoof = T.write("spoof.eml", {}, h, "Hello.\r\n")

-- signed by example.com, MAIL FROM the slow name
c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<user@slow.example.net>",
    headers = signed})
ar = T.authres(c)
T.check(ar:find("spf=temperror (slow.example.net TXT: DNS time budget",
    1, true) ~= nil, "signed: spf=temperror (budget)")
T.check(ar:find("dkim=pass", 1, true) ~= nil and
    ar:find("dmarc=pass", 1, true) ~= nil, "signed: dkim=pass dmarc=pass")
T.check(T.accepted(c), "signed: accepted")
mt.disconnect(c)
local good = T.write("signed.eml", {}, signed, "Hello.\r\n")

-- the next message has a budget of its own
c = T.open()
T.send(c, {ip = "192.0.2.25", headers = signed})
ar = T.authres(c)
T.check(ar:find("spf=pass", 1, true) ~= nil and
    ar:find("dmarc=pass", 1, true) ~= nil, "next message: spf=pass dmarc=pass")
mt.disconnect(c)

-- the CLI, same budget, same messages
local out, st = T.verify("--dns-time-budget 2 --ip 198.51.100.9 " ..
    "--mail-from user@slow.example.net --json " .. spoof)
T.check(out:find('"disposition":"reject"', 1, true) ~= nil and
    out:find("DNS time budget of this message (2 s) spent", 1, true) ~= nil,
    "verify: the spoof's disposition is reject, SPF ran out of budget")
T.check(st == 1, "verify: exit status 1 (DMARC failed)")
out, st = T.verify("--dns-time-budget 2 --ip 198.51.100.9 " ..
    "--mail-from user@slow.example.net " .. good)
T.check(out:find("dmarc=pass", 1, true) ~= nil and
    out:find("spf=temperror (slow.example.net TXT: DNS time budget", 1,
    true) ~= nil,
    "verify: the signed message passes DMARC, spf=temperror (budget)")
T.done()
