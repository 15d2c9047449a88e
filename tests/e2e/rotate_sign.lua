-- rotate_sign.lua -- sign messages from user@rot.test through the daemon
-- (an internal client) and write them as the recipient gets them, for the
-- key rotation tests (rotate-lib.sh).
--   RS_OUT    the file to write the signed message to
--   RS_HOLD   when set: a command to run between two messages on one
--             connection (a rotation step); the second message goes to
--             RS_OUT2. The connection keeps the configuration snapshot it
--             started with, so both carry the keys of before the step.
-- Prints "selectors: S1 S2" for each message written (in the order of
-- the DKIM-Signature fields).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local function headers()
	return {
		{"From", " Rotation Test <user@rot.test>"},
		{"To", " rcpt@example.net"},
		{"Subject", " key rotation"},
		{"Date", " Mon, 07 Dec 2026 12:00:00 +0000"},
		{"Message-ID", " <rotate-" .. os.time() .. "@rot.test>"},
	}
end

local body = "Signed while keys rotate.\r\n"

local function one(c, again, path)
	local h = headers()
	T.send(c, {again = again, ip = "203.0.113.7", from = "<user@rot.test>",
	    headers = h, body = body})
	T.check(T.accepted(c), "accepted")
	local top, sels = {}, {}
	for i = 0, 3 do
		local sig = mt.getheader(c, "DKIM-Signature", i)
		if sig == nil then
			break
		end
		top[#top + 1] = {"DKIM-Signature", sig}
		sels[#sels + 1] = sig:match("s=([%w%-]+);")
	end
	T.check(#top > 0, "signed")
	T.write(path:match("[^/]+$"), top, h, body)
	print("selectors: " .. table.concat(sels, " "))
end

local c = T.open()
one(c, false, os.getenv("RS_OUT"))
if os.getenv("RS_HOLD") then
	T.check(os.execute(os.getenv("RS_HOLD")), "the step between ran")
	one(c, true, os.getenv("RS_OUT2"))
end
mt.disconnect(c)
T.done()
