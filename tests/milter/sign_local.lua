-- sign_local: Postfix's non_smtpd_milters path (sendmail, pickup)
-- announces the client as "localhost" with no address; that is a local
-- submission and is signed although 127.0.0.1 is not in InternalHosts.
-- Dual signing: the SigningTable has an RSA and an Ed25519 key for
-- example.com (MultipleSignatures).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.open()
local h = T.headers()
T.send(c, {host = "localhost", ip = "unspec", headers = h})
T.check(T.accepted(c), "accepted")
local s1 = mt.getheader(c, "DKIM-Signature", 0)
local s2 = mt.getheader(c, "DKIM-Signature", 1)
T.check(s1 ~= nil and s2 ~= nil, "two signatures inserted")
local rsa = s1:find("a=rsa-sha256", 1, true) or s2:find("a=rsa-sha256", 1, true)
local ed = s1:find("a=ed25519-sha256", 1, true) or
    s2:find("a=ed25519-sha256", 1, true)
T.check(rsa and ed, "one rsa-sha256 and one ed25519-sha256")
local f = T.write("local.eml", {{"DKIM-Signature", s1},
    {"DKIM-Signature", s2}}, h, "Hello.\r\n")
T.check(T.dkimpy(f), "dkimpy verifies both signatures")
T.check(T.log_has("client=local from="), "log names a local submission")
mt.disconnect(c)
T.done()
