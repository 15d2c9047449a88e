-- failure_reports: with FailureReports yes a message failing DMARC for a
-- domain whose record has ruf= leaves one failure record in the spool at
-- the end of the message; `authmilter report --failures` turns it into
-- one report through a capturing sendmail; a second run sends nothing; a
-- failed sendmail leaves the record for the next run. A message passing
-- DMARC, and one of a domain without ruf, leave none. The metrics
-- endpoint counts the records appended.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local am = os.getenv("MT_AM")
local spool = T.dir .. "/spool"

-- count(glob): the files; count(glob, "cat"): their lines
local function count(glob, cmd)
	local p = io.popen((cmd or "ls") .. " " .. glob .. " 2>/dev/null | wc -l")
	local n = tonumber(p:read("*a"))
	p:close()
	return n
end

-- the sender: NOW is minutes after the records (their minute is over)
local function sender(sendmail, ahead)
	local cmd = am .. " report --failures --config " .. T.conf ..
	    " --sendmail '" .. sendmail .. "' --now $(($(date +%s) + " ..
	    ahead .. ")) >>" .. T.dir .. "/sender.log 2>&1"
	local ok, _, st = os.execute(cmd)
	return st
end

local c = T.open()
-- ruf.example: p=reject with ruf; 198.51.100.9 fails its SPF
T.send(c, {ip = "198.51.100.9", from = "<x@ruf.example>",
    rcpt = "<someone@rcpt.example>",
    headers = {{"From", " X <x@ruf.example>"}, {"Subject", " first"},
    {"Message-ID", " <first@ruf.example>"}}})
T.check(mt.eom_check(c, MT_SMTPREPLY, "550", "5.7.1",
    "Message rejected by the DMARC policy of ruf.example"), "rejected")
T.check(T.log_has("dmarc=fail policy=\"ruf%.example\" " ..
    "failure%-records=1 action=reject"),
    "the log line counts one failure record")
-- reject.example has no ruf: no record
T.send(c, {again = true, ip = "198.51.100.9",
    headers = {{"From", " x@reject.example"}, {"Subject", " s"}}})
mt.disconnect(c)
T.check(count(spool .. "/failure.*.jsonl") == 1, "one failure file")
T.check(T.metric(T.scrape(), "authmilter_failure_records_total") == 1,
    "the metrics count one failure record")
T.check(count(spool .. "/failure.*.jsonl", "cat") == 1, "one failure record")
local rec = T.read(io.popen("ls " .. spool .. "/failure.*.jsonl"):read("*l"))
T.check(rec:find('"policy_domain":"ruf.example"', 1, true) ~= nil and
    rec:find('"rcpt_to":["someone@rcpt.example"]', 1, true) ~= nil and
    rec:find('"delivery_result":"reject"', 1, true) ~= nil,
    "the record names the domain, the recipient and the rejection")

-- verify writes the same record for the same message and envelope
local eml = T.dir .. "/first.eml"
local f = T.must(io.open(eml, "wb"))
f:write("From: X <x@ruf.example>\r\nSubject: first\r\n" ..
    "Message-ID: <first@ruf.example>\r\n\r\n")
f:close()
os.execute("mkdir " .. T.dir .. "/vspool")
os.execute(am .. " verify --config " .. T.conf .. " --ip 198.51.100.9 " ..
    "--helo client.example --mail-from '<x@ruf.example>' " ..
    "--rcpt-to '<someone@rcpt.example>' --failure-reports --spool " ..
    T.dir .. "/vspool " .. eml .. " >/dev/null 2>&1")
T.check(os.execute("/usr/bin/python3 -c '" ..
    "import glob, json, sys\n" ..
    "def rec(d):\n" ..
    "    [p] = glob.glob(d + \"/failure.*.jsonl\")\n" ..
    "    r = json.loads(open(p).read().splitlines()[0])\n" ..
    "    del r[\"time\"]\n" ..
    "    return r\n" ..
    "a, b = rec(sys.argv[1]), rec(sys.argv[2])\n" ..
    "sys.exit(0 if a == b else print(a, b, sep=\"\\n\") or 1)\n" ..
    "' " .. spool .. " " .. T.dir .. "/vspool"),
    "verify --failure-reports writes the record the milter wrote")

-- the sender: one report, through the capturing sendmail
os.execute("mkdir " .. T.dir .. "/mail")
local cap = "cat > " .. T.dir .. "/mail/report.$$"
T.check(sender(cap, 200) == 0, "report --failures succeeds")
T.check(count(T.dir .. "/mail/report.*") == 1, "one report sent")
local rep = T.read(io.popen("ls " .. T.dir .. "/mail/report.*"):read("*l"))
T.check(rep:find("\nTo: failures@ruf.example\n", 1, true) ~= nil and
    rep:find("report-type=feedback-report", 1, true) ~= nil and
    rep:find("\nReported-Domain: ruf.example\n", 1, true) ~= nil and
    rep:find("\nSource-IP: 198.51.100.9\n", 1, true) ~= nil,
    "an ARF report to the ruf address about the message")
T.check(os.execute("/usr/bin/python3 " .. T.here ..
    "/../vectors/failure/check_arf.py " .. T.dir .. "/mail/report.* " ..
    "--to failures@ruf.example --expect Reported-Domain=ruf.example " ..
    "--expect Source-IP=198.51.100.9 --expect Auth-Failure=dmarc " ..
    "--has 'Authentication-Results=arc=none smtp.remote-ip=198.51.100.9' " ..
    "--has 'Authentication-Results=dmarc=fail' " ..
    "--inner-has 'Subject: first' --nowhere someone@"),
    "the report parses with Python's email package")
T.check(sender(cap, 300) == 0 and count(T.dir .. "/mail/report.*") == 1,
    "a second run sends nothing")

-- a failed sendmail leaves the record for the next run
c = T.open()
T.send(c, {ip = "198.51.100.9", from = "<x@ruf.example>",
    headers = {{"From", " x@ruf.example"}, {"Subject", " second"},
    {"Message-ID", " <second@ruf.example>"}}})
mt.disconnect(c)
T.check(T.log_has("failure%-records=1.*\n.*failure%-records=1"),
    "the second message has its record too")
T.check(T.metric(T.scrape(), "authmilter_failure_records_total") == 2 and
    T.metric(T.scrape(),
    'authmilter_failure_record_failures_total{error="other"}') == 0,
    "the metrics count two failure records, no failed append")
T.check(sender("cat >/dev/null; exit 75", 400) == 1,
    "a failed sendmail: exit 1")
T.check(count(T.dir .. "/mail/report.*") == 1, "nothing was sent")
T.check(count(spool .. "/failure.*.jsonl") == 1, "the record is back")
T.check(sender(cap, 600) == 0 and count(T.dir .. "/mail/report.*") == 2,
    "the next run sends it")
T.check(sender(cap, 700) == 0 and count(T.dir .. "/mail/report.*") == 2,
    "and only once")
T.done()
