-- arc_seal: a forwarding host (ARCSealInbound) seals what it verifies:
-- the new set comes out on top with our Authentication-Results as its
-- AAR, dkimpy's arc_verify passes the delivered message, and a second
-- hop seals i=2 on top (cv=pass) which dkimpy passes too.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

-- dkimpy_arc: whether dkimpy validates the ARC chain of the file (with
-- n sets)
local function dkimpy_arc(path, n)
	return os.execute("/usr/bin/python3 " .. T.here ..
	    "/dkimpy_arc_verify.py " .. T.port .. " " .. path .. " " .. n)
end

-- one hop: send headers from ip, return the fields inserted on top in
-- their final order (the seal on top, then our A-R)
local function hop(ip, headers)
	local c = T.open()
	T.send(c, {ip = ip, headers = headers, from = "<user@example.com>"})
	T.check(T.accepted(c), "accepted from " .. ip)
	local top = {}
	for _, n in ipairs({"ARC-Seal", "ARC-Message-Signature",
	    "ARC-Authentication-Results", "Authentication-Results"}) do
		local v = mt.getheader(c, n, 0)
		T.check(v ~= nil, n .. " inserted")
		top[#top + 1] = {n, v}
	end
	mt.disconnect(c)
	return top
end

local signed = T.signed()
local top = hop("198.51.100.9", signed)
T.check(top[1][2]:find("i=1;", 1, true) and
    top[1][2]:find("cv=none", 1, true), "ARC-Seal i=1 cv=none")
T.check(top[1][2]:find("d=forwarder.example", 1, true),
    "sealed by ARCDomain")
T.check(top[3][2]:find("^ i=1; mx.test.example;") ~= nil,
    "the AAR is our Authentication-Results with i=1")
T.check(top[3][2]:find("dkim=pass", 1, true) and
    top[3][2]:find("dmarc=pass", 1, true), "the AAR records the passes")
T.check(top[4][2]:find("arc=none", 1, true), "A-R: arc=none")
T.check(not top[2][2]:find("Authentication-Results", 1, true),
    "the AMS does not sign Authentication-Results")
T.check(T.log_has("sealed i=1 cv=none"), "the log line says sealed")
local path = T.write("hop1.eml", top, signed, "Hello.\r\n")
T.check(dkimpy_arc(path, 1), "dkimpy validates the sealed message")
T.check(T.dkimpy(path), "and the author's DKIM signature still passes")

-- the next hop: our A-R of the first is removed there (it names our
-- authserv-id), the chain passes and i=2 goes on top
local second = {top[1], top[2], top[3]}
for _, h in ipairs(signed) do
	second[#second + 1] = h
end
local top2 = hop("198.51.100.20", second)
T.check(top2[1][2]:find("i=2;", 1, true) and
    top2[1][2]:find("cv=pass", 1, true), "ARC-Seal i=2 cv=pass")
T.check(top2[4][2]:find("arc=pass", 1, true) and
    top2[4][2]:find("header.oldest-pass=1", 1, true) and
    top2[4][2]:find("smtp.remote-ip=198.51.100.20", 1, true),
    "A-R: arc=pass with oldest-pass and remote-ip")
path = T.write("hop2.eml", top2, second, "Hello.\r\n")
T.check(dkimpy_arc(path, 2), "dkimpy validates both sets")

-- one byte of the sealed body changed: both sides say fail
path = T.write("hop2-changed.eml", top2, second, "Hellp.\r\n")
T.check(not dkimpy_arc(path, 2), "dkimpy fails the changed body")
local out = T.verify("--authserv-id mx.other.example " .. path)
T.check(out:find("arc=fail", 1, true) ~= nil, "verify fails it too")
T.done()
