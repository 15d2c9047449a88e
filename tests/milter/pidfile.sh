#!/bin/sh
# pidfile.sh -- PidFile: written with the daemon's PID and locked while it
# runs; a second daemon with the same configuration stops at the pid file
# with "already running (PID N)" and leaves the first one's socket alone;
# a stale file is taken over; a symbolic link or a FIFO at the path is
# refused (not followed, no hang); the file goes at SIGTERM.
set -u
am=${AUTHMILTER_BUILD_ROOT:?}/src/cli/authmilter
keys=${AUTHMILTER_SOURCE_ROOT:?}/keys/demo
dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-pid.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
install -m 0600 "$keys/demo-rsa.private" "$dir/key.private"
cat >"$dir/authmilter.conf" <<CONF
Socket local:$dir/sock
Domain example.com
Selector demo-rsa
KeyFile $dir/key.private
Nameservers 127.0.0.1@9
PidFile $dir/authmilter.pid
CONF
pass=0
fail=0
ok() {
	if [ "$1" = 0 ]; then
		pass=$((pass + 1))
		echo "ok - $2"
	else
		fail=$((fail + 1))
		echo "FAIL - $2"
		for f in "$dir"/*.log; do echo "--- $f"; cat "$f"; done
	fi
}
connects() {
	/usr/bin/python3 -c 'import socket, sys
socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "$dir/sock" 2>/dev/null
}
# start: run the daemon in the background, wait for its socket
start() {
	"$am" run -c "$dir/authmilter.conf" -f >"$dir/$1.log" 2>&1 &
	pid=$!
	i=0
	while ! connects; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
			return 1
		fi
		sleep 0.05
	done
}
stop() {
	kill -TERM "$pid"
	wait "$pid"
	st=$?
	pid=
	return $st
}
# refused NAME: a second start that must fail (exit 1) within 10 s
refused() {
	timeout 10 "$am" run -c "$dir/authmilter.conf" -f >"$dir/$1.log" 2>&1
}

start first
ok $? "the daemon starts"
first=$pid
[ "$(cat "$dir/authmilter.pid")" = "$first" ]
ok $? "the pid file holds its PID"

refused second
ok $(($? != 1)) "a second daemon with the same PidFile exits with 1"
grep -q "PidFile $dir/authmilter.pid: authmilter is already running (PID $first)" \
    "$dir/second.log"
ok $? "and says which PID holds the file"
[ "$(cat "$dir/authmilter.pid")" = "$first" ] && [ -S "$dir/sock" ] &&
    connects
ok $? "the first daemon keeps its pid file and its socket"

stop
ok $? "SIGTERM: exit status 0"
[ ! -e "$dir/authmilter.pid" ]
ok $? "the pid file is removed"

# a PID no process can have (above the kernel's pid_max)
echo 99999999 >"$dir/authmilter.pid"
start stale
ok $? "a stale pid file does not stop the start"
[ "$(cat "$dir/authmilter.pid")" = "$pid" ]
ok $? "it is taken over"
grep -q "PID 99999999 is gone without removing it: taken over" \
    "$dir/stale.log"
ok $? "and the log says so"
stop
ok $? "stopped"

echo keep >"$dir/target"
rm -f "$dir/sock"	# libmilter leaves its socket file behind
ln -s "$dir/target" "$dir/authmilter.pid"
refused symlink
ok $(($? != 1)) "a symbolic link at the PidFile path: not started"
grep -q "authmilter.pid: a symbolic link: not followed" "$dir/symlink.log" &&
    [ "$(cat "$dir/target")" = keep ] && [ ! -e "$dir/sock" ]
ok $? "not followed, the target unchanged, no socket made"
rm "$dir/authmilter.pid"

mkfifo "$dir/authmilter.pid"
refused fifo
ok $(($? != 1)) "a FIFO at the PidFile path: not started, no hang"
grep -q "authmilter.pid: not a regular file" "$dir/fifo.log"
ok $? "and the log says why"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
