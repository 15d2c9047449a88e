-- big_header: a message past the header bounds (BOUND_HEADER_COUNT
-- fields) cannot be evaluated: it is accepted (OnInternalError accept,
-- the default) with temperror recorded, and a forged A-R among the
-- fields is still removed. With OnInternalError tempfail (second
-- daemon configuration, not here) it would get 451 4.3.0.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local h = {{"Authentication-Results", " mx.test.example; dkim=pass"}}
for i = 1, 1100 do
	h[#h + 1] = {"X-Filler", " " .. i}
end
for _, x in ipairs(T.headers()) do h[#h + 1] = x end
local c = T.open()
T.send(c, {ip = "192.0.2.10", headers = h})
T.check(T.accepted(c), "accepted")
local ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dkim=temperror", 1, true) ~= nil,
    "temperror recorded")
T.check(mt.eom_check(c, MT_HDRDELETE, "Authentication-Results"),
    "forged A-R removed all the same")
T.check(T.log_has("error=\"header: "), "log names the failure")

-- the connection goes on normally
T.send(c, {again = true, ip = "192.0.2.10", headers = T.headers()})
ar = mt.getheader(c, "Authentication-Results", 0)
T.check(ar ~= nil and ar:find("dkim=none", 1, true) ~= nil,
    "next message evaluated")
mt.disconnect(c)
T.done()
