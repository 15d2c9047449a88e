-- metrics: the MetricsListen endpoint (here on a unix socket) counts what
-- the milter did, exactly: messages by path and action, signatures by
-- domain, DKIM/DMARC/ARC results, DMARC overrides, DNS outcomes
-- (SERVFAIL through the fault proxy), the MetricsDomains breakout, spool
-- appends and an ENOSPC (a full tmpfs), histograms, reloads; promtool
-- accepts the scrape; unknown paths are 404, other methods 405; clients
-- that send half a request or nothing neither stall a scrape nor the
-- milter, and are closed after the timeout; a second daemon on the same
-- listener does not start and names MetricsListen with its file and
-- line.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local client, addr = T.metrics_client, T.metrics_addr
local http, scrape, value = T.http, T.scrape, T.metric

local function is(text, series, want)
	local got = value(text, series)
	T.check(got == want, series .. " = " .. tostring(want) ..
	    " (got " .. tostring(got) .. ")")
end

local s = scrape()
is(s, 'authmilter_messages_total{path="sign",action="accept"}', 0)
is(s, 'authmilter_keys_loaded', 1)
is(s, 'authmilter_report_state_ok', 1)
is(s, 'authmilter_report_runs_total{result="ok"}', 0)
T.check(s:find('\nauthmilter_build_info{version="[^"]+",openssl="OpenSSL ' ..
    '[^"]+"} 1\n') ~= nil, "build_info names the version and OpenSSL")
T.check(s:find('\nauthmilter_key_expiry_timestamp_seconds{key="KeyFile",' ..
    'domain="%%",selector="demo%-rsa"} %d+\n') ~= nil,
    "the key's expiry is there (KeyMaxAge)")

-- two signed (internal client), one inbound pass, one DMARC reject
local signed = T.signed()
local c = T.open()
T.send(c, {ip = "203.0.113.7", headers = T.headers()})
mt.disconnect(c)
c = T.open()
T.send(c, {ip = "198.51.100.9", headers = signed})
T.check(T.accepted(c), "the signed message is accepted inbound")
-- its ARC set (ARCSealInbound), for the next hop below
local set = {}
for _, n in ipairs({"ARC-Seal", "ARC-Message-Signature",
    "ARC-Authentication-Results"}) do
	set[#set + 1] = {n, T.must(mt.getheader(c, n, 0), n .. " inserted")}
end
T.send(c, {again = true, headers = {{"From", " x@reject.example"},
    {"Subject", " s"}}})
T.check(mt.getreply(c) == SMFIR_REPLYCODE, "reject.example is rejected")
mt.disconnect(c)

s = scrape()
is(s, 'authmilter_messages_total{path="sign",action="accept"}', 2)
is(s, 'authmilter_messages_total{path="verify",action="accept"}', 1)
is(s, 'authmilter_messages_total{path="verify",action="reject"}', 1)
is(s, 'authmilter_messages_total{path="none",action="accept"}', 0)
is(s, 'authmilter_signatures_total{domain="example.com",' ..
    'algorithm="rsa-sha256"}', 2)
is(s, 'authmilter_signatures_total{domain="%",algorithm="rsa-sha256"}', 0)
is(s, 'authmilter_auth_results_total{method="dkim",result="pass"}', 1)
is(s, 'authmilter_auth_results_total{method="dkim",result="none"}', 1)
is(s, 'authmilter_auth_results_total{method="dmarc",result="pass"}', 1)
is(s, 'authmilter_auth_results_total{method="dmarc",result="fail"}', 1)
is(s, 'authmilter_dmarc_domain_results_total{domain="reject.example",' ..
    'result="fail"}', 1)
T.check(not s:find('authmilter_dmarc_domain_results_total{domain=' ..
    '"example.com"', 1, true), "no breakout for a domain not listed")
is(s, 'authmilter_auth_results_total{method="arc",result="none"}', 2)
is(s, 'authmilter_spool_appends_total', 2)
is(s, 'authmilter_eom_duration_seconds_count', 4)
is(s, 'authmilter_message_size_bytes_count', 4)
is(s, 'authmilter_message_errors_total', 0)
T.check((value(s, 'authmilter_dns_queries_total{type="TXT",' ..
    'outcome="answer"}') or 0) > 0, "DNS answers counted")
T.check((value(s, 'authmilter_dns_cache_lookups_total{result="miss"}')
    or 0) > 0, "DNS cache misses counted")

-- the sealed message one hop on: its chain passes; with its AAR
-- changed (the seal covers it) the chain fails, DKIM still passes
local function hop2(aar)
	local h = {set[1], set[2], {set[3][1], aar}}
	for _, x in ipairs(signed) do
		h[#h + 1] = x
	end
	c = T.open()
	T.send(c, {ip = "198.51.100.20", headers = h})
	local ar = T.authres(c)
	mt.disconnect(c)
	return ar
end
T.check(hop2(set[3][2]):find("arc=pass", 1, true) ~= nil,
    "the next hop: arc=pass")
local forged = set[3][2]:gsub("dkim=pass", "dkim=fail")
T.check(forged ~= set[3][2] and
    hop2(forged):find("arc=fail", 1, true) ~= nil,
    "the AAR changed: arc=fail")
s = scrape()
is(s, 'authmilter_auth_results_total{method="arc",result="none"}', 2)
is(s, 'authmilter_auth_results_total{method="arc",result="pass"}', 1)
is(s, 'authmilter_auth_results_total{method="arc",result="fail"}', 1)

-- DMARC overrides: a trusted forwarder (TrustedForwarders) and a policy
-- in test mode (t=y: p=reject quarantines); SERVFAIL (metrics.proxy)
-- for a DMARC record is a temperror
local function from(domain, ip)
	c = T.open()
	T.send(c, {ip = ip or "198.51.100.9", headers = {{"From", " x@" ..
	    domain}, {"Subject", " s"}}})
	return c
end
T.check(T.accepted(from("reject.example", "198.51.100.30")),
    "a trusted forwarder's reject.example mail is accepted")
mt.disconnect(c)
T.check(mt.eom_check(from("testmode.example"), MT_QUARANTINE),
    "t=y: quarantined")
mt.disconnect(c)
T.check(T.authres(from("servfail.example")):find("dmarc=temperror", 1,
    true) ~= nil, "SERVFAIL: dmarc=temperror")
mt.disconnect(c)
s = scrape()
is(s, 'authmilter_dmarc_overrides_total{reason="trusted_forwarder"}', 1)
is(s, 'authmilter_dmarc_overrides_total{reason="policy_test_mode"}', 1)
is(s, 'authmilter_dmarc_overrides_total{reason="local_policy"}', 0)
is(s, 'authmilter_messages_total{path="verify",action="quarantine"}', 1)
is(s, 'authmilter_auth_results_total{method="dmarc",result="temperror"}', 1)
T.check((value(s, 'authmilter_dns_queries_total{type="TXT",' ..
    'outcome="servfail"}') or 0) > 0, "SERVFAIL counted")

-- a full spool (a tmpfs of one page, filled): the append fails with
-- ENOSPC and is counted; the message is accepted all the same
local spool = T.dir .. "/spool"
local appends = value(s, 'authmilter_spool_appends_total')
if os.execute("mount -t tmpfs -o size=4k tmpfs " .. spool ..
    " 2>/dev/null") then
	os.execute("dd if=/dev/zero of=" .. spool .. "/fill bs=1k " ..
	    ">/dev/null 2>&1")
	c = T.open()
	T.send(c, {ip = "198.51.100.9", headers = signed})
	T.check(T.accepted(c), "accepted with the spool full")
	mt.disconnect(c)
	s = scrape()
	T.must(os.execute("umount " .. spool), "umount " .. spool)
	is(s, 'authmilter_spool_failures_total{error="ENOSPC"}', 1)
	is(s, 'authmilter_spool_appends_total', appends)
elseif os.getenv("CI") == "true" then
	T.check(false, "a tmpfs for the full spool (needs root)")
else
	print("# no tmpfs could be mounted: the full spool is not checked")
end

-- promtool (Debian's prometheus package) accepts the scrape
local f = T.must(io.open(T.dir .. "/scrape.txt", "wb"))
f:write(s)
f:close()
T.check(os.execute("promtool check metrics < " .. T.dir ..
    "/scrape.txt > " .. T.dir .. "/promtool.log 2>&1"),
    "promtool check metrics accepts the scrape")

-- bad requests
T.check(http("/") == "404", "/ is 404")
T.check(http("/metrics/x") == "404", "/metrics/x is 404")
T.check(http("/metrics", "POST") == "405", "POST /metrics is 405")

-- four bad clients hold connections; a scrape and a message go through
os.execute(client .. " hold " .. addr .. " 4 14 " .. T.dir ..
    "/hold >/dev/null 2>&1 &")
T.check(T.file_has(T.dir .. "/hold", "ready", 3), "bad clients connected")
T.check(http("/metrics") == "200", "a scrape is answered meanwhile")
c = T.open()
T.send(c, {ip = "203.0.113.7", headers = T.headers()})
T.check(mt.getheader(c, "DKIM-Signature", 0) ~= nil,
    "the milter signs meanwhile")
mt.disconnect(c)
T.check(T.file_has(T.dir .. "/hold.done", "closed 4", 16),
    "the listener closes the stuck clients after its timeout")

-- reloads: good, bad, good again
local good = T.read(T.conf)
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reloaded "), "reloaded")
T.set_conf(good .. "NoSuchOption yes\n")
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reload of .* failed"), "the bad reload failed")
s = scrape()
is(s, 'authmilter_config_reloads_total{result="ok"}', 1)
is(s, 'authmilter_config_reloads_total{result="failed"}', 1)
is(s, 'authmilter_config_last_reload_successful', 0)
is(s, 'authmilter_messages_total{path="sign",action="accept"}', 3)
T.set_conf(good)

-- a second daemon on the same metrics socket does not start
local conf2 = T.dir .. "/second.conf"
f = T.must(io.open(conf2, "wb"))
f:write((good:gsub("Socket local:[^\n]*", "Socket local:" .. T.dir ..
    "/sock2")))
f:close()
local p = io.popen(os.getenv("MT_AM") .. " run -f -c " .. conf2 ..
    " 2>&1; echo status=$?")
local out = p:read("*a")
p:close()
T.check(out:find("status=1", 1, true) ~= nil, "the second daemon exits 1")
T.check(out:find("second%.conf:%d+: MetricsListen .*metrics%.sock: " ..
    "Address already in use") ~= nil,
    "and says which option, where, and why: " .. out:gsub("\n", " | "))
T.check(http("/metrics") == "200", "the first one still serves")
T.done()
