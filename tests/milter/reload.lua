-- reload: SIGHUP reloads the configuration; a broken new configuration
-- is logged line by line and the old one keeps serving; a good one takes
-- effect for new connections while a connection in flight keeps the
-- snapshot it started with.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local function selector(c)
	local sig = mt.getheader(c, "DKIM-Signature", 0)
	return sig and sig:match("s=([%w%-]+);")
end
local good = T.read(T.conf)
local h = T.headers()

local held = T.open()	-- stays open across the reloads
T.send(held, {ip = "203.0.113.7", headers = h})
T.check(selector(held) == "demo-rsa", "signs with demo-rsa")

-- a broken configuration: unknown option and a missing key file
T.set_conf(good:gsub("demo%-rsa%.private", "missing.private") ..
    "NoSuchOption yes\n")
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("authmilter%.conf:%d+: NoSuchOption: unknown option"),
    "the unknown option is logged with file:line")
T.check(T.log_has("missing%.private"), "the missing key file is logged")
T.check(T.log_has("reload of .* failed"), "the reload failure is logged")
local c = T.open()
T.send(c, {ip = "203.0.113.7", headers = h})
T.check(selector(c) == "demo-rsa", "old configuration still signs")
mt.disconnect(c)

-- a good new configuration: another key
T.set_conf(good:gsub("demo%-rsa", "demo-ed"))
os.execute("kill -HUP " .. T.pid)
T.check(T.log_has("reloaded .*resolver kept"), "reloaded, DNS cache kept")
c = T.open()
T.send(c, {ip = "203.0.113.7", headers = h})
T.check(selector(c) == "demo-ed", "new connection signs with demo-ed")
mt.disconnect(c)

T.send(held, {again = true, headers = h})
T.check(selector(held) == "demo-rsa",
    "the connection in flight keeps its snapshot")
mt.disconnect(held)
T.done()
