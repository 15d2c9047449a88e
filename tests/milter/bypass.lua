-- bypass: every case of bypass_cases.lua through both edges. Each
-- message is written to a file; `authmilter verify --config` (the
-- daemon's own configuration, so the same DNS server and options) gives
-- its action, reply and Authentication-Results as JSON, then the same
-- message goes through the daemon with miltertest. Both must give the
-- action, reply code and text the table expects, and so agree.
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local am = os.getenv("AUTHMILTER_BUILD_ROOT") .. "/src/cli/authmilter"
local cases = dofile(T.here .. "/bypass_cases.lua")
local exits = {accept = 0, reject = 1, tempfail = 3, quarantine = 4}

local function q(s)
	return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- verify: the action object and the A-R of the JSON line, and the exit
-- status
local function verify(k, path)
	local cmd = am .. " verify --json --config " .. q(T.conf) ..
	    " --helo " .. q(k.helo or "client.example") ..
	    " --mail-from " .. q(k.from or "<x@pass.example>")
	if k["local"] then
		cmd = cmd .. " --local"
	else
		cmd = cmd .. " --ip " .. (k.ip or "198.51.100.9")
	end
	local p = io.popen(cmd .. " " .. q(path) .. " 2>&1")
	local out = p:read("a")
	local _, _, status = p:close()
	local act = out:match('"action":(%b{})')
	T.must(act ~= nil, k.name .. ": verify printed no action: " .. out)
	return {
		action = act:match('^{"action":"(%a+)"'),
		code = act:match('"code":"(%d+)"'),
		xcode = act:match('"enhanced_code":"([%d%.]+)"'),
		text = act:match('"text":"(.-)"'),
		ar = (out:match('"authentication_results":"(.-)","dkim"') or "")
		    :gsub("\\r\\n\\t", "\n\t"),
		status = status,
	}
end

-- the daemon: the reply it gave must be v's
local function milter(k, headers, body, v)
	local c = T.open()
	T.send(c, {host = k["local"] and "localhost" or nil,
	    ip = k["local"] and "unspec" or (k.ip or "198.51.100.9"),
	    helo = k.helo, from = k.from or "<x@pass.example>",
	    headers = headers, body = body})
	if v.action == "reject" or v.action == "tempfail" then
		T.check(mt.getreply(c) == SMFIR_REPLYCODE and
		    mt.eom_check(c, MT_SMTPREPLY, v.code, v.xcode, v.text),
		    k.name .. ": milter: " .. v.code .. " " .. v.xcode .. " " ..
		    v.text)
	elseif v.action == "quarantine" then
		T.check(mt.eom_check(c, MT_QUARANTINE), k.name ..
		    ": milter: quarantined")
	else
		T.check(T.accepted(c) and not mt.eom_check(c, MT_QUARANTINE),
		    k.name .. ": milter: accepted")
	end
	local ar = mt.getheader(c, "Authentication-Results", 0) or ""
	mt.disconnect(c)
	return ar
end

for _, k in ipairs(cases) do
	local body = "Hello.\r\n"
	local headers = k.headers()
	if k.signed then
		headers = T.signed(headers, body)
	end
	for i = #(k.prepend or {}), 1, -1 do
		table.insert(headers, 1, k.prepend[i])
	end
	local path = T.write(k.name .. ".eml", {}, headers, body)

	local v = verify(k, path)
	T.check(v.action == k.action, k.name .. ": verify: " .. k.action ..
	    " (got " .. tostring(v.action) .. ")")
	T.check(v.status == exits[k.action], k.name .. ": verify exits " ..
	    exits[k.action] .. " (got " .. tostring(v.status) .. ")")
	if k.code ~= nil then
		T.check(v.code == k.code and v.xcode == k.xcode, k.name ..
		    ": verify: " .. k.code .. " " .. k.xcode .. " (got " ..
		    tostring(v.code) .. " " .. tostring(v.xcode) .. ")")
	end
	if k.text ~= nil then
		T.check(v.text == k.text, k.name .. ": verify: \"" .. k.text ..
		    "\" (got \"" .. tostring(v.text) .. "\")")
	end
	for _, want in ipairs(k.ar or {}) do
		T.check(v.ar:find(want, 1, true) ~= nil, k.name ..
		    ": verify A-R has " .. want)
	end
	if not k.cli_only then
		local ar = milter(k, headers, body, v)
		for _, want in ipairs(k.ar or {}) do
			T.check(ar:find(want, 1, true) ~= nil, k.name ..
			    ": milter A-R has " .. want)
		end
	end
end
T.done()
