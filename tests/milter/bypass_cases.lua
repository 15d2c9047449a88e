-- bypass_cases.lua -- the data table of bypass.lua: ways a message could
-- carry a From of a p=reject domain (reject.example, example.com; see
-- milter.zone and keys/demo/demo.zone) and still be accepted, each with
-- the action both edges must give. One table drives the daemon
-- (miltertest) and `authmilter verify`.
--
-- Fields: name; headers (a function returning {{name, value}, ...}, each
-- value with its leading space); signed (sign the headers with the
-- milter first, for an internal client) and prepend (fields put above
-- the signature afterwards); ip, helo, from (MAIL FROM), local (a local
-- submission: host "localhost", no address; verify --local); action,
-- code, xcode, text (the reply: text exact when given); ar (strings
-- the Authentication-Results must hold, on both edges); cli_only (a
-- message miltertest cannot send: fields over about 1 KB).
--
-- The client is 198.51.100.9 and MAIL FROM <x@pass.example> unless a
-- case says otherwise: SPF passes for pass.example (p=none), so without
-- the rule a case tests, DMARC would pass for the attacker's own domain
-- or would not apply to reject.example.

local function with(from, extra)
	local h = {}
	if from ~= nil then
		h[1] = {"From", " " .. from}
	end
	h[#h + 1] = {"To", " rcpt@example.net"}
	h[#h + 1] = {"Subject", " pay the invoice"}
	h[#h + 1] = {"Date", " Mon, 23 Nov 2026 12:00:00 +0000"}
	h[#h + 1] = {"Message-ID", " <bypass@pass.example>"}
	for _, x in ipairs(extra or {}) do h[#h + 1] = x end
	return h
end

local function filler(n, rest)
	local h = {}
	for i = 1, n do h[#h + 1] = {"X-Filler", " " .. i} end
	for _, x in ipairs(rest) do h[#h + 1] = x end
	return h
end

local function addresses(n, last)
	local a = {}
	for i = 1, n - 1 do a[#a + 1] = "u" .. i .. "@n" .. i .. ".example" end
	a[#a + 1] = last
	return table.concat(a, ", ")
end

local REJ = "Message rejected by the DMARC policy of reject.example"

return {
	-- 1. header limits end in a verdict, not in an internal error
	{ name = "1-spoof-behind-1100-fields",
	  headers = function()
		return filler(1100, with("CEO <ceo@reject.example>"))
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ,
	  ar = {"dmarc=fail", "more than 1000 header fields"} },
	{ name = "1-from-fields-past-every-bound",
	  headers = function()
		local f = {}
		for i = 1, 200 do f[i] = {"From", " ceo@reject.example"} end
		return filler(1100, f)
	  end,
	  action = "reject", code = "552", xcode = "5.3.4",
	  text = "Message header too large to evaluate: more From and " ..
	      "DKIM-Signature fields than the limits hold",
	  ar = {"dmarc=permerror"} },
	{ name = "1-spoof-behind-1MiB", cli_only = true,
	  headers = function()
		local h = {}
		for i = 1, 600 do
			h[i] = {"X-Big", " " .. string.rep("b", 2000)}
		end
		return filler(0, with("ceo@reject.example", h))
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ,
	  ar = {"header section larger than 1 MiB"} },
	{ name = "1-from-over-100KiB", cli_only = true,
	  headers = function()
		return with("\"" .. string.rep("x", 110000) ..
		    "\" <ceo@reject.example>")
	  end,
	  action = "reject", code = "552", xcode = "5.3.4",
	  text = "Message header too large to evaluate: a From field " ..
	      "larger than 100 KiB" },

	-- 2. any number of author domains: the strictest policy applies
	{ name = "2-p-reject-40th-of-40-domains",
	  headers = function()
		return with(addresses(40, "ceo@reject.example"))
	  end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message rejected by DMARC: too many From domains to " ..
	      "evaluate",
	  ar = {"more than 8 author domains"} },
	{ name = "2-40-addresses-of-one-domain",
	  headers = function()
		local a = {}
		for i = 1, 40 do a[i] = "u" .. i .. "@reject.example" end
		return with(table.concat(a, ", "))
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },

	-- 3. a From a mail reader shows differently from the grammar
	{ name = "3-encoded-word-as-the-address",
	  headers = function()
		-- base64 of "ceo@reject.example"
		return with("=?utf-8?B?Y2VvQHJlamVjdC5leGFtcGxl?=")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-encoded-word-in-display-name",
	  headers = function()
		return with("=?utf-8?Q?ceo=40reject.example?= <x@pass.example>")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ,
	  ar = {"header.from=pass.example", "header.from=reject.example"} },
	{ name = "3-encoded-word-in-local-part",
	  headers = function()
		return with("=?utf-8?Q?ceo=40reject.example?=@pass.example")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-mailbox-without-domain-among-others",
	  headers = function()
		return with("\"ceo@reject.example\" <ceo>, <x@pass.example>")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-angle-addr-as-group-name",
	  headers = function()
		return with("<ceo@reject.example>: x@pass.example;")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-address-in-comment",
	  headers = function()
		return with("x@pass.example (ceo@reject.example)")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-address-in-quoted-local-part",
	  headers = function()
		return with("\"ceo@reject.example\"@pass.example")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-display-name-is-an-address",
	  headers = function()
		return with("\"ceo@reject.example\" <x@pass.example>")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-full-width-at-sign",
	  headers = function()
		return with("ceo\239\188\160reject.example <x@pass.example>")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1", text = REJ },
	{ name = "3-invalid-from-never-passes",
	  -- 192.0.2.10 passes example.com's SPF, aligned with the From
	  -- domain; but the field is not a valid mailbox-list
	  ip = "192.0.2.10", from = "<x@example.com>",
	  headers = function()
		return with("<alice@example.com> trailing")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message rejected by the DMARC policy of example.com",
	  ar = {"spf=pass", "dmarc=fail (From is not a valid mailbox-list: " ..
	      "trailing garbage after address"} },

	-- 4. a replayed signature under a prepended singleton field
	{ name = "4-control-signed-as-sent",
	  ip = "198.51.100.9", from = "<x@example.com>", signed = true,
	  headers = function()
		return with("Alice <alice@example.com>")
	  end,
	  action = "accept", ar = {"dkim=pass", "dmarc=pass"} },
	{ name = "4-subject-prepended",
	  ip = "198.51.100.9", from = "<x@example.com>", signed = true,
	  prepend = {{"Subject", " new bank details"}},
	  headers = function()
		return with("Alice <alice@example.com>")
	  end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message rejected by the DMARC policy of example.com",
	  ar = {"dkim=policy (h= covers 1 of 2 Subject fields)",
	      "dmarc=fail"} },
	{ name = "4-reply-to-prepended",
	  ip = "198.51.100.9", from = "<x@example.com>", signed = true,
	  prepend = {{"Reply-To", " thief@pass.example"}},
	  headers = function()
		return with("Alice <alice@example.com>",
		    {{"Reply-To", " alice@example.com"}})
	  end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  ar = {"dkim=policy (h= covers 1 of 2 Reply-To fields)"} },

	-- 5. no From, or none with a domain: rejected from the network,
	-- left alone for a local submission
	{ name = "5-no-from",
	  headers = function() return with(nil) end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message has no From header field",
	  ar = {"dmarc=none (no From header field)"} },
	{ name = "5-from-empty-group",
	  headers = function() return with("undisclosed-recipients:;") end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message has no domain in its From header field" },
	{ name = "5-from-without-domain",
	  headers = function() return with("ceo") end,
	  action = "reject", code = "550", xcode = "5.7.1",
	  text = "Message has no domain in its From header field" },
	{ name = "5-local-submission-without-from", ["local"] = true,
	  headers = function() return with(nil) end,
	  action = "accept" },

	-- the other policy knobs (bypass.conf), so both edges are seen to
	-- read them alike
	{ name = "knob-quarantine",
	  headers = function() return with("a@quarantine.example") end,
	  action = "quarantine", ar = {"dmarc=fail"} },
	{ name = "knob-trusted-forwarder", ip = "198.51.100.201",
	  headers = function() return with("ceo@reject.example") end,
	  action = "accept", ar = {"override=trusted_forwarder"} },
	{ name = "knob-external-ignore-list", ip = "198.51.100.200",
	  headers = function() return with("ceo@reject.example") end,
	  action = "accept" },
}
