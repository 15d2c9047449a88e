-- reload_keys: a reload takes over the private keys whose files did not
-- change and loads the ones that did. Reloaded as it is, the daemon says
-- it kept its key, and what it signs still verifies; with another key
-- written into the same key file (its times left as they were, so only
-- the content tells) and the selector that publishes it, the reload
-- loads the new key and the new selector signs, verifiably.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local key = T.dir .. "/demo-rsa.private"

-- the notice of reload n (waiting for it); fails when it fails
local function reloaded(n)
	os.execute("kill -HUP " .. T.pid)
	for _ = 1, 500 do
		local s = T.read(T.log)
		T.must(not s:find("reload of [^\n]* failed"), "reload " .. n ..
		    " failed")
		local lines = {}
		for line in s:gmatch("notice: reloaded [^\n]*") do
			lines[#lines + 1] = line
		end
		if #lines >= n then
			return lines[n]
		end
		mt.sleep(0.01)
	end
	T.must(false, "no notice for reload " .. n)
end

-- sign a message as an internal client, then verify it as inbound mail:
-- the signature's s= and a=, and our Authentication-Results
local function sign_verify()
	local h = T.headers()
	local signed = T.signed(h)
	local sig = signed[1][2]
	local c = T.open()
	T.send(c, {ip = "198.51.100.9", headers = signed})
	local ar = mt.getheader(c, "Authentication-Results", 0) or ""
	mt.disconnect(c)
	return sig:match("s=([%w%-]+);"), sig:match("a=([%w%-]+);"), ar
end

local s, a, ar = sign_verify()
T.check(s == "demo-rsa" and a == "rsa-sha256", "signs with demo-rsa")
T.check(ar:find("dkim=pass header.d=example.com header.s=demo-rsa", 1,
    true), "the signature verifies")

-- the same configuration and key file
local line = reloaded(1)
T.check(line:find("private keys: 1 kept, 0 loaded", 1, true),
    "reload 1: the key is kept (" .. line .. ")")
s, a, ar = sign_verify()
T.check(s == "demo-rsa" and a == "rsa-sha256", "reload 1: signs as before")
T.check(ar:find("dkim=pass header.d=example.com header.s=demo-rsa", 1,
    true), "reload 1: the signature verifies")

-- rotation: the Ed25519 key into the same file, times kept
os.execute("touch -r " .. key .. " " .. T.dir .. "/stamp")
local f = T.must(io.open(key, "wb"))
f:write(T.read(T.dir .. "/demo-ed.private"))
f:close()
os.execute("touch -r " .. T.dir .. "/stamp " .. key)
T.set_conf(T.read(T.conf):gsub("Selector demo%-rsa", "Selector demo-ed"))
line = reloaded(2)
T.check(line:find("private keys: 0 kept, 1 loaded", 1, true),
    "reload 2: the changed key file is loaded (" .. line .. ")")
s, a, ar = sign_verify()
T.check(s == "demo-ed" and a == "ed25519-sha256",
    "reload 2: the new key signs")
T.check(ar:find("dkim=pass header.d=example.com header.s=demo-ed", 1,
    true), "reload 2: the new signature verifies")
T.done()
