-- big_header: a message past the header bounds (here 1,000 fields;
-- the 1 MiB and 100 KiB bounds are in tests/vectors/dmarc, since
-- miltertest cannot send fields of more than about 1 KB) is still
-- evaluated: the limit is a fact about the
-- message, not an internal error. The From fields are kept past the
-- bounds, so DMARC applies the policy: a spoofed From of a p=reject
-- domain behind 1,100 filler fields is rejected, the same From from a
-- client its SPF allows passes. When even the From fields do not fit,
-- nothing can be evaluated: 552 5.3.4. A forged A-R among the fields is
-- removed in every case, and the connection goes on normally.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local function filler(n, extra)
	local h = {{"Authentication-Results", " mx.test.example; dkim=pass"}}
	for i = 1, n do
		h[#h + 1] = {"X-Filler", " " .. i}
	end
	for _, x in ipairs(extra) do h[#h + 1] = x end
	return h
end

-- 198.51.100.9 fails example.com's SPF: the spoof is rejected. Kept:
-- the forged A-R, fillers 1-999, and From (past the bound); dropped:
-- fillers 1000-1100 and To, Subject, Date, Message-ID (105).
local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = filler(1100, T.headers())})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "spoof behind 1,100 fields: 550 5.7.1")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dmarc=fail", 1, true) ~= nil, "dmarc=fail")
T.check(ar:find("more than 1000 header fields: 105 header fields not " ..
    "evaluated", 1, true) ~= nil, "the A-R says what was not evaluated")
T.check(mt.eom_check(c, MT_HDRDELETE, "Authentication-Results"),
    "forged A-R removed all the same")
T.check(T.log_has("header%-dropped=105 limit=\"more than 1000 header " ..
    "fields\".* action=reject reply=\"550 5%.7%.1\""),
    "log names the limit and the action")
T.check(not T.log_has("error="), "no internal error")

-- 192.0.2.10 passes example.com's SPF: DMARC passes, accepted
mt.disconnect(c)
c = T.open()
T.send(c, {ip = "192.0.2.10", headers = filler(1100, T.headers())})
T.check(T.accepted(c), "same From from an allowed client: accepted")
ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dmarc=pass", 1, true) ~= nil, "dmarc=pass")
mt.disconnect(c)

-- From fields past every bound (the reserve holds 128): 552 5.3.4
c = T.open()
local froms = {}
for i = 1, 200 do
	froms[#froms + 1] = {"From", " x@reject.example"}
end
T.send(c, {ip = "198.51.100.9", headers = filler(1100, froms)})
T.check(mt.eom_check(c, MT_SMTPREPLY, "552", "5.3.4",
    "Message header too large to evaluate: more From and " ..
    "DKIM-Signature fields than the limits hold"),
    "From fields that cannot be kept: 552 5.3.4")
T.check(T.log_has("unevaluable=.* action=reject %(header too large%) " ..
    "reply=\"552 5%.3%.4\""), "log says why")

-- the connection goes on normally (the same From from 198.51.100.9:
-- DMARC evaluated as usual)
T.send(c, {again = true, headers = T.headers()})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "next message evaluated")
ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dkim=none", 1, true) ~= nil and
    ar:find("not evaluated", 1, true) == nil, "next message evaluated whole")
mt.disconnect(c)
T.done()
