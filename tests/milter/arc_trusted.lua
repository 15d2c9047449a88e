-- arc_trusted: the mailing-list topology and a trusted sealer.
--   1. author.example (p=reject) signs a message; it arrives from the
--      internet and passes (our A-R records dkim and dmarc pass);
--   2. the list software changes the Subject and adds a footer, and
--      re-injects it from an internal host (ARCSealHosts): it is sealed
--      with the A-R of its arrival, after the change, not verified again;
--      dkimpy validates the chain;
--   3. at the next receiver the author's signature is broken and SPF
--      fails, so DMARC fails, but the chain passes and the trusted sealer
--      (TrustedARCSealers) recorded dmarc=pass for author.example: the
--      message is accepted, the A-R and the report record say why, the
--      metrics count a trusted_forwarder override, and the report run
--      (mailed to a file) is in the metrics too;
--   4. without TrustedARCSealers the same message is rejected.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

-- a message text into {headers, body} ({name, value} values as on the
-- wire after the colon, CRLF inside folds)
local function parse(text)
	local head, body = text:match("^(.-)\r?\n\r?\n(.*)$")
	local hs = {}
	for line in (head .. "\n"):gmatch("(.-)\r?\n") do
		if line:match("^[ \t]") then
			hs[#hs][2] = hs[#hs][2] .. "\r\n" .. line
		else
			local n, v = line:match("^([^:]+):(.*)$")
			hs[#hs + 1] = {n, v}
		end
	end
	return hs, body
end

local function run(cmd)
	local p = io.popen(cmd)
	local out = p:read("*a")
	p:close()
	return out
end

-- 1. the author's signed message (the CLI signs as the author's MTA)
local orig = T.dir .. "/orig.eml"
local f = T.must(io.open(orig, "wb"))
f:write("From: Author <a@author.example>\r\nTo: list@forwarder.example\r\n" ..
    "Subject: hello list\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\n" ..
    "Message-ID: <arc-1@author.example>\r\n\r\nHello list.\r\n")
f:close()
local signed_text = run(os.getenv("MT_AM") .. " sign -d author.example " ..
    "-s demo-rsa -k " .. T.dir .. "/demo-rsa.private " .. orig)
local signed, body = parse(signed_text)
T.check(signed[1][1] == "DKIM-Signature", "the author signed")

-- arrival at the list host
local c = T.open()
T.send(c, {ip = "192.0.2.99", headers = signed, body = body,
    from = "<a@author.example>", rcpt = "<list@forwarder.example>"})
T.check(T.accepted(c), "arrival accepted")
local ar = T.authres(c)
T.check(ar:find("dkim=pass", 1, true) and ar:find("dmarc=pass", 1, true),
    "arrival: dkim and dmarc pass")
T.check(mt.getheader(c, "ARC-Seal", 0) == nil,
    "not sealed on arrival (the list seals)")
mt.disconnect(c)

-- 2. the list changes the message and re-injects it
local listed = {{"Authentication-Results", ar}}
for _, h in ipairs(signed) do
	if h[1] == "Subject" then
		listed[#listed + 1] = {"Subject", " [list] hello list"}
	else
		listed[#listed + 1] = h
	end
end
listed[#listed + 1] = {"List-Id", " <list.forwarder.example>"}
local lbody = body .. "-- \r\nthe list footer\r\n"
c = T.open()
T.send(c, {ip = "203.0.113.7", headers = listed, body = lbody,
    from = "<list-bounces@forwarder.example>",
    rcpt = "<member@rcpt.example>"})
T.check(T.accepted(c), "re-injection accepted")
local seal = mt.getheader(c, "ARC-Seal", 0)
local ams = mt.getheader(c, "ARC-Message-Signature", 0)
local aar = mt.getheader(c, "ARC-Authentication-Results", 0)
T.check(seal and ams and aar, "sealed on re-injection")
T.check(seal:find("i=1;", 1, true) and seal:find("cv=none", 1, true) and
    seal:find("d=forwarder.example", 1, true), "ARC-Seal i=1 cv=none")
T.check(aar:find("dmarc=pass", 1, true) and
    aar:find("header.d=author.example", 1, true),
    "the AAR is the A-R of the arrival")
T.check(mt.getheader(c, "Authentication-Results", 0) == nil,
    "not verified again")
T.check(mt.getheader(c, "DKIM-Signature", 0) == nil,
    "not signed (no key for author.example)")
T.check(T.log_has("sealed i=1 cv=none"), "the log line says sealed")
mt.disconnect(c)
-- what leaves the list host: the set on top, our old A-R removed
local out = {{"ARC-Seal", seal}, {"ARC-Message-Signature", ams},
    {"ARC-Authentication-Results", aar}}
for i = 2, #listed do
	out[#out + 1] = listed[i]
end
local path = T.write("listed.eml", {}, out, lbody)
T.check(os.execute("/usr/bin/python3 " .. T.here ..
    "/dkimpy_arc_verify.py " .. T.port .. " " .. path .. " 1"),
    "dkimpy validates the list's seal")
T.check(not T.dkimpy(path), "the author's signature is broken")

-- an authenticated client that is not in ARCSealHosts, writing to a
-- domain of ARCSealRecipientDomains, with an Authentication-Results
-- that names us: forged, so nothing is sealed with it (our seal would
-- vouch for it); its mail is signed as usual
local forged = {{"Authentication-Results", " mx.test.example; arc=none;" ..
    "\r\n\tdmarc=pass header.from=author.example"}}
for _, h in ipairs(T.headers()) do
	forged[#forged + 1] = h
end
c = T.open()
T.send(c, {ip = "198.51.100.77", auth = "someone", headers = forged,
    rcpt = "<member@rcpt.example>"})
T.check(T.accepted(c) and mt.getheader(c, "DKIM-Signature", 0) ~= nil,
    "the authenticated client's mail is signed")
T.check(mt.getheader(c, "ARC-Seal", 0) == nil,
    "not sealed with A-R it brought: the client is not in ARCSealHosts")
mt.disconnect(c)

-- 3. the next receiver: DMARC fails, the trusted sealer rescues it
c = T.open()
T.send(c, {ip = "198.51.100.60", headers = out, body = lbody,
    from = "<a@author.example>", rcpt = "<member@rcpt.example>"})
T.check(T.accepted(c), "accepted although DMARC fails")
ar = T.authres(c)
T.check(ar:find("arc=pass", 1, true) ~= nil, "A-R: arc=pass")
T.check(ar:find("dmarc=fail", 1, true) ~= nil, "A-R: dmarc=fail")
T.check(ar:find("disposition=none override=trusted_forwarder by ARC " ..
    "sealer forwarder.example i=1 dmarc=pass", 1, true) ~= nil,
    "A-R: the override and the sealer")
mt.disconnect(c)
local s = T.scrape()
T.check(T.metric(s, 'authmilter_dmarc_overrides_total{reason=' ..
    '"trusted_forwarder"}') == 1, "metrics: one trusted_forwarder override")
-- verify, offline, gives the same verdict for the same message and
-- envelope, with and without the trusted sealer
local args = "--authserv-id mx.test.example --ip 198.51.100.60 " ..
    "--mail-from a@author.example " .. path
local v, st = T.verify("--trusted-arc-sealer forwarder.example " .. args)
T.check(v:find("disposition=none override=trusted_forwarder by ARC " ..
    "sealer forwarder.example i=1 dmarc=pass", 1, true) ~= nil and st == 0,
    "verify: the same override, accepted")
-- the milter's own configuration (its TrustedARCSealers) gives the same
v, st = T.verify("--config " .. T.conf .. " " .. args)
T.check(v:find("disposition=none override=trusted_forwarder by ARC " ..
    "sealer forwarder.example i=1 dmarc=pass", 1, true) ~= nil and st == 0,
    "verify --config: the same override, accepted")
v, st = T.verify(args)
T.check(v:find("disposition=reject", 1, true) ~= nil and
    v:find("arc=pass", 1, true) ~= nil and st == 1,
    "verify without the trusted sealer: reject")
local spool = run("cat " .. T.dir .. "/spool/*.jsonl")
T.check(spool:find('"type":"trusted_forwarder","comment":"arc=pass; ' ..
    'trusted ARC sealer forwarder.example (i=1) recorded dmarc=pass for ' ..
    'author.example"', 1, true) ~= nil,
    "the report record carries the override with the sealer")

-- the aggregate report built from the spool carries it too: RFC 9990's
-- trusted_forwarder with the sealer in the comment, schema-valid
local rconf = T.dir .. "/report.conf"
f = T.must(io.open(rconf, "wb"))
f:write("Mode v\nSocket local:" .. T.dir .. "/report.sock\nSyslog no\n" ..
    "SpoolDir " .. T.dir .. "/spool\nReportOrgName Test Receiver\n" ..
    "ReportEmail dmarc-reports@mx.test.example\n" ..
    "Nameservers 127.0.0.1@" .. T.port .. "\n")
f:close()
run(os.getenv("MT_AM") .. " report --config " .. rconf .. " --send " ..
    "--sendmail 'cat >" .. T.dir .. "/report.mail' --now " ..
    (os.time() + 86400) .. " >" .. T.dir .. "/report.log 2>&1")
local xml = run("zcat " .. T.dir .. "/spool/reports/*author.example*.xml.gz")
T.check(xml:find("<reason>%s*<type>trusted_forwarder</type>%s*" ..
    "<comment>arc=pass; trusted ARC sealer forwarder%.example %(i=1%) " ..
    "recorded dmarc=pass for author%.example</comment>%s*</reason>") ~= nil,
    "the aggregate report carries the override with the sealer")
f = T.must(io.open(T.dir .. "/report.xml", "wb"))
f:write(xml)
f:close()
T.check(os.execute("xmllint --noout --schema " .. T.here ..
    "/../data/dmarc/rfc9990-dmarc-2.0.xsd " .. T.dir ..
    "/report.xml 2>/dev/null"), "the report is valid against the schema")
-- the daemon's metrics read the run from the spool's report-state
s = T.scrape()
T.check(T.metric(s, 'authmilter_report_runs_total{result="ok"}') == 1 and
    T.metric(s, 'authmilter_report_runs_total{result="failed"}') == 0 and
    T.metric(s, "authmilter_reports_sent_total") == 1 and
    T.metric(s, "authmilter_report_failures_total") == 0,
    "metrics: the report run and the report it mailed")

-- 4. the same message without TrustedARCSealers: rejected
T.set_conf(T.read(T.conf):gsub("TrustedARCSealers[^\n]*\n", ""))
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reloaded"), "reloaded without TrustedARCSealers")
c = T.open()
T.send(c, {ip = "198.51.100.60", headers = out, body = lbody,
    from = "<a@author.example>", rcpt = "<member@rcpt.example>"})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of author.example"),
    "550 without the trusted sealer")
mt.disconnect(c)
T.done()
