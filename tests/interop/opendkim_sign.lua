-- opendkim_sign.lua -- drive a running opendkim milter (sign mode) with
-- one message and print the DKIM-Signature header it adds.
-- Environment: MILTER_SOCKET (e.g. unix:/path), MESSAGE (an .eml file).
local sock = os.getenv("MILTER_SOCKET")
local path = os.getenv("MESSAGE")
local f = assert(io.open(path, "rb"))
local data = f:read("*a")
f:close()

-- split the header section (CRLF or LF line ends) from the body
local hend, bstart = data:find("\r?\n\r?\n")
local head = data:sub(1, hend - 1) .. "\n"	-- every field, LF-terminated
local body = data:sub(bstart + 1)

local conn = mt.connect(sock, 40, 0.25)
if conn == nil then error("mt.connect() failed") end
if mt.conninfo(conn, "localhost", "127.0.0.1") ~= nil then
	error("mt.conninfo() failed")
end
if mt.mailfrom(conn, "alice@example.com") ~= nil then
	error("mt.mailfrom() failed")
end
if mt.rcptto(conn, "bob@example.net") ~= nil then
	error("mt.rcptto() failed")
end

-- unfold nothing: give each field's raw value (folds as LF+WSP)
local name, value = nil, nil
local function flush()
	if name ~= nil then
		if mt.header(conn, name, value) ~= nil then
			error("mt.header() failed")
		end
	end
end
for line in (head:gsub("\r\n", "\n")):gmatch("([^\n]*)\n") do
	if line:match("^[ \t]") then
		value = value .. "\n" .. line
	else
		flush()
		name, value = line:match("^([^:]+):[ \t]?(.*)$")
	end
end
flush()
if mt.eoh(conn) ~= nil then error("mt.eoh() failed") end
if body ~= "" and mt.bodystring(conn, body) ~= nil then
	error("mt.bodystring() failed")
end
if mt.eom(conn) ~= nil then error("mt.eom() failed") end
local sig = mt.getheader(conn, "DKIM-Signature", 0)
if sig == nil then error("no DKIM-Signature added") end
io.write("DKIM-Signature: " .. sig:gsub("^%s+", "") .. "\n")
mt.disconnect(conn)
