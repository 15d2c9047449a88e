-- dns_outage: the DNS server drops every query for 10 s (the fault proxy
-- in front of nsd, dns_outage.proxy), then answers again. A message
-- during the outage ends in temperror; every message after it is
-- evaluated from fresh answers as the zone says (the resolver asks again:
-- no "No (valid) nameservers" for the rest of the run), with no restart
-- or reload; and a reload after the outage keeps a resolver that works.
dofile(os.getenv("MT_HERE") .. "/lib.lua")
mt.set_timeout(60)

local proxy = os.getenv("MT_PROXY_LOG")
local h = T.headers()
local signed = T.signed(h)

-- during the outage
local c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed})
T.check(T.accepted(c), "accepted (OnDNSError accept)")
T.check(T.authres(c):find("dmarc=temperror", 1, true) ~= nil,
    "during the outage: dmarc=temperror")
mt.disconnect(c)
T.check(T.file_has(proxy, "drop "), "the proxy dropped queries")
T.check(T.file_has(proxy, "drop _dmarc%.example%.com TXT"),
    "the proxy dropped the policy lookup (asked first)")

T.check(T.file_has(proxy, "answering", 30), "the outage is over")

-- signed by example.com; 198.51.100.9 fails its SPF, DKIM carries DMARC
for i = 1, 3 do
	c = T.open()
	T.send(c, {ip = "198.51.100.9", headers = signed})
	local ar = T.authres(c)
	T.check(T.accepted(c), "after the outage: message " .. i .. " accepted")
	T.check(ar:find("dkim=pass", 1, true) ~= nil and
	    ar:find("dmarc=pass", 1, true) ~= nil,
	    "message " .. i .. ": dkim=pass dmarc=pass")
	T.check(ar:find("temperror", 1, true) == nil,
	    "message " .. i .. ": no temperror")
	mt.disconnect(c)
end
T.check(T.file_has(proxy, "forward _dmarc%.example%.com TXT"),
    "the policy was asked again after the outage")

-- SPF from the domain's own network passes too
c = T.open()
T.send(c, {ip = "192.0.2.25", headers = h})
T.check(T.authres(c):find("spf=pass", 1, true) ~= nil, "spf=pass")
mt.disconnect(c)

-- the policy applies: a spoof of example.com (p=reject) is rejected
c = T.open()
T.send(c, {ip = "198.51.100.9", headers = h})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of example.com"),
    "unsigned mail from a foreign IP: 550 5.7.1")
mt.disconnect(c)

-- a reload keeps the resolver, and the kept resolver asks the network
-- (reject.example was not looked up before)
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reloaded .*resolver kept"), "reloaded, resolver kept")
c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<x@reject.example>",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of reject.example"),
    "after the reload: a spoof of reject.example gets 550 5.7.1")
mt.disconnect(c)
T.check(T.file_has(proxy, "forward _dmarc%.reject%.example TXT"),
    "its policy came from the server")
T.done()
