-- shutdown: SIGTERM lets the message in flight finish (signed and
-- accepted), then the daemon stops accepting and exits (run.sh checks
-- the exit status and the log).
dofile(os.getenv("MT_HERE") .. "/lib.lua")

local c = T.in_flight()

os.execute("kill -TERM " .. T.pid)
T.check(T.log_has("SIGTERM: stopping"), "SIGTERM seen")
T.check(T.log_has("waiting for 1 messages in flight"),
    "waits for the message in flight")
T.must(mt.eom(c) == nil, "eom")
T.check(T.accepted(c), "the message in flight is accepted")
T.check(mt.eom_check(c, MT_HDRINSERT, "DKIM-Signature"), "and signed")
mt.disconnect(c)
T.check(T.log_has("notice: stopped"), "then the daemon stops")
-- (a refused connection makes miltertest hang: probed with python)
T.check(not os.execute("/usr/bin/python3 -c 'import socket, sys; " ..
    "socket.socket(socket.AF_UNIX).connect(sys.argv[1])' " ..
    os.getenv("MT_SOCK") .. " 2>/dev/null"), "no longer accepting")
T.done()
