-- lib.lua -- helpers shared by the milter tests (loaded with dofile by
-- each NAME.lua; run.sh sets the MT_* environment).
T = {}
T.sock = "unix:" .. os.getenv("MT_SOCK")
T.dir = os.getenv("MT_DIR")
T.conf = os.getenv("MT_CONF")
T.log = os.getenv("MT_LOG")
T.pid = os.getenv("MT_PID")
T.port = os.getenv("MT_PORT")
T.here = os.getenv("MT_HERE")
T.passed = 0

-- check: one named assertion; a failure stops the script (exit != 0)
-- (miltertest does not print Lua errors: T.must and T.check print the
-- reason before they stop the script)
function T.check(cond, what)
	if not cond then
		print("FAIL - " .. what)
		error("FAIL: " .. what, 2)
	end
	T.passed = T.passed + 1
	print("ok " .. T.passed .. " - " .. what)
end

function T.must(cond, what)
	if not cond then
		print("FAIL - " .. what)
		error(what, 2)
	end
	return cond
end

function T.done()
	print(T.passed .. " passed, 0 failed")
end

-- open: connect and negotiate as Postfix does (milter protocol 6,
-- every action and step offered, HDR_LEADSPC included)
function T.open()
	local c = mt.connect(T.sock, 50, 0.1)
	T.must(c ~= nil, "cannot connect to " .. T.sock)
	T.must(mt.negotiate(c, 6, nil, nil) == nil, "negotiate")
	return c
end

-- send: one message, connect to eom. m fields: host, ip (default an
-- external client; "unspec" with host "localhost" is how Postfix
-- announces a non-SMTP submission), helo, from (MAIL FROM), auth
-- ({auth_authen}), rcpt, headers ({{name, value}, ...}, values with
-- their leading space), body. again: a further message on the same
-- connection (no connect, no HELO).
function T.send(c, m)
	if not m.again then
		T.must(mt.conninfo(c, m.host or "client.example",
		    m.ip or "198.51.100.9") == nil, "conninfo")
		T.must(mt.helo(c, m.helo or "client.example") == nil, "helo")
	end
	if m.auth ~= nil then
		T.must(mt.macro(c, SMFIC_MAIL, "{auth_authen}", m.auth,
		    "i", "4QUEUEID") == nil, "macro")
	else
		T.must(mt.macro(c, SMFIC_MAIL, "i", "4QUEUEID") == nil, "macro")
	end
	T.must(mt.mailfrom(c, m.from or "<user@example.com>") == nil, "mail")
	if not mt.test_option(c, SMFIP_NORCPT) then
		T.must(mt.rcptto(c, m.rcpt or "<rcpt@example.net>") == nil,
		    "rcpt")
	end
	for _, h in ipairs(m.headers) do
		-- with HDR_LEADSPC negotiated miltertest puts one space in
		-- front of every value itself: the values here are as on the
		-- wire, so that space is taken off (and must be there)
		local v = h[2]
		if mt.test_option(c, SMFIP_HDR_LEADSPC) then
			T.must(v:sub(1, 1) == " ", "value must start with a space")
			v = v:sub(2)
		end
		T.must(mt.header(c, h[1], v) == nil, "header " .. h[1])
	end
	T.must(mt.eoh(c) == nil, "eoh")
	T.must(mt.bodystring(c, m.body or "Hello.\r\n") == nil, "body")
	T.must(mt.eom(c) == nil, "eom")
end

-- in_flight: a new connection with a message from an internal client
-- sent up to its body, not ended: the message is in flight (mt.eom
-- ends it); the daemon must log at LogLevel debug
function T.in_flight()
	local c = T.open()
	T.must(mt.conninfo(c, "client.example", "203.0.113.7") == nil,
	    "conninfo")
	T.must(mt.helo(c, "client.example") == nil, "helo")
	T.must(mt.mailfrom(c, "<user@example.com>") == nil, "mail")
	for _, x in ipairs(T.headers()) do
		T.must(mt.header(c, x[1], x[2]:sub(2)) == nil, "header")
	end
	T.must(mt.eoh(c) == nil, "eoh")
	T.must(mt.bodystring(c, "Hello.\r\n") == nil, "body")
	-- every step so far is sent without waiting for a reply: wait until
	-- the daemon has seen the message begin (needs LogLevel debug)
	T.must(T.log_has("debug: [^\n]*mail from [^\n]*user@example%.com"),
	    "the daemon sees the message begin")
	return c
end

-- A plain message from user@example.com.
function T.headers(extra)
	local h = {}
	for _, x in ipairs(extra or {}) do
		h[#h + 1] = x
	end
	h[#h + 1] = {"From", " User <user@example.com>"}
	h[#h + 1] = {"To", " rcpt@example.net"}
	h[#h + 1] = {"Subject", " test message"}
	h[#h + 1] = {"Date", " Mon, 23 Nov 2026 12:00:00 +0000"}
	h[#h + 1] = {"Message-ID", " <test@example.com>"}
	return h
end

-- signed: the header fields h (default T.headers()) with the
-- DKIM-Signature the milter makes for an internal client on top, for
-- inbound tests; body defaults to T.send's
function T.signed(h, body)
	h = h or T.headers()
	local c = T.open()
	T.send(c, {ip = "203.0.113.7", headers = h, body = body})
	local sig = mt.getheader(c, "DKIM-Signature", 0)
	mt.disconnect(c)
	T.check(sig ~= nil, "signed by the milter (needs no DNS)")
	local signed = {{"DKIM-Signature", sig}}
	for _, x in ipairs(h) do
		signed[#signed + 1] = x
	end
	return signed
end

function T.accepted(c)
	return mt.getreply(c) == SMFIR_CONTINUE or
	    mt.getreply(c) == SMFIR_ACCEPT
end

-- write: the message as the recipient gets it (inserted fields on top,
-- LF folds back to CRLF) into a file under MT_DIR; returns the path
function T.write(name, top, headers, body)
	local path = T.dir .. "/" .. name
	local f = T.must(io.open(path, "wb"))
	for _, h in ipairs(top) do
		f:write(h[1] .. ":" .. h[2]:gsub("\r?\n", "\r\n") .. "\r\n")
	end
	for _, h in ipairs(headers) do
		f:write(h[1] .. ":" .. h[2]:gsub("\r?\n", "\r\n") .. "\r\n")
	end
	f:write("\r\n" .. body)
	f:close()
	return path
end

-- dkimpy: whether python3-dkim verifies every signature of the file,
-- with keys from the test DNS server
function T.dkimpy(path)
	return os.execute("/usr/bin/python3 " .. T.here .. "/dkimpy_verify.py "
	    .. T.port .. " " .. path)
end

-- log_has: whether the daemon log contains a line matching pattern
-- (a Lua pattern), waiting up to 2 s for it
function T.log_has(pattern)
	return T.file_has(T.log, pattern, 2)
end

-- set_conf: rewrite the configuration file
function T.set_conf(text)
	local f = T.must(io.open(T.conf, "wb"))
	f:write(text)
	f:close()
end

function T.read(path)
	local f = T.must(io.open(path, "rb"))
	local s = f:read("*a")
	f:close()
	return s
end

-- file_has: whether the file at path has a line matching pattern (a Lua
-- pattern), waiting up to seconds (default 2) for it
function T.file_has(path, pattern, seconds)
	for _ = 1, (seconds or 2) * 20 do
		local f = io.open(path, "rb")
		local s = f and f:read("*a") or ""
		if f then
			f:close()
		end
		if s:find(pattern) then
			return true
		end
		mt.sleep(0.05)
	end
	return false
end

-- authres: the Authentication-Results value the milter inserted, or ""
function T.authres(c)
	return mt.getheader(c, "Authentication-Results", 0) or ""
end

-- verify: run `authmilter verify ARGS` (a string, already quoted) with
-- the DNS server the daemon asks; returns its output and exit status
function T.verify(args)
	local p = io.popen(os.getenv("MT_AM") .. " verify --nameserver " ..
	    "127.0.0.1@" .. T.port .. " " .. args .. "; echo \"exit=$?\"")
	local out = p:read("*a")
	p:close()
	return out, tonumber(out:match("exit=(%d+)%s*$"))
end

-- The metrics endpoint of a test whose NAME.conf has MetricsListen
-- @DIR@/metrics.sock, through tests/e2e/metrics_client.py (scripts that
-- run.sh does not start have no MT_DIR, nor metrics)
if T.dir ~= nil then
	T.metrics_client = "/usr/bin/python3 " .. T.here ..
	    "/../e2e/metrics_client.py"
	T.metrics_addr = "unix:" .. T.dir .. "/metrics.sock"
end

-- http: the status and body of one request (method default GET)
function T.http(path, method)
	local p = io.popen(T.metrics_client .. " get " .. T.metrics_addr ..
	    " " .. path .. " " .. (method or "GET"))
	local out = p:read("*a")
	p:close()
	return out:match("^(%d+)\n(.*)$")
end

-- scrape: the text of /metrics (which must answer 200)
function T.scrape()
	local status, body = T.http("/metrics")
	T.must(status == "200", "scrape answered 200 (" ..
	    tostring(status) .. ")")
	return body
end

-- metric: the value of one series of a scrape, the series written
-- exactly as there, or nil
function T.metric(text, series)
	for line in text:gmatch("[^\n]+") do
		local k, v = line:match("^(.*) (%S+)$")
		if k == series then
			return tonumber(v)
		end
	end
	return nil
end
