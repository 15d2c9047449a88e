#!/bin/sh
# signals.sh -- SIGHUP followed at once by SIGTERM while a message is in
# flight, ROUNDS times (default 30), each with a fresh daemon: the message
# finishes (signed and accepted, signals.lua), the daemon reloads, stops,
# and exits with 0, and libmilter never takes a signal itself (its log
# line "libmilter stopped" would show it). Exit 77 (skip) when miltertest
# is missing, unless CI=true.
set -u
src=${AUTHMILTER_SOURCE_ROOT:?}
am=${AUTHMILTER_BUILD_ROOT:?}/src/cli/authmilter
here=$src/tests/milter
rounds=${ROUNDS:-30}
if ! command -v miltertest >/dev/null 2>&1; then
	echo "signals.sh: miltertest is not installed" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-sig.XXXXXX")
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/key.private"
cat >"$dir/authmilter.conf" <<CONF
Socket local:$dir/sock
AuthservID mx.test.example
Domain example.com
Selector demo-rsa
KeyFile $dir/key.private
InternalHosts 203.0.113.0/24
Nameservers 127.0.0.1@9
LogLevel debug
CONF
fail=0
round=1
while [ $round -le "$rounds" ]; do
	rm -f "$dir/sock"
	LSAN_OPTIONS=suppressions=$here/lsan.supp \
		"$am" run -c "$dir/authmilter.conf" -f >"$dir/log" 2>&1 &
	pid=$!
	i=0
	while [ ! -S "$dir/sock" ] && [ $i -lt 200 ]; do
		i=$((i + 1))
		sleep 0.02
	done
	MT_HERE=$here MT_SOCK=$dir/sock MT_PID=$pid MT_LOG=$dir/log \
	MT_ROUND=$round miltertest -s "$here/signals.lua" >"$dir/mt.out" 2>&1
	mt=$?
	# no more than the 60 s drain (a message left unanswered would
	# make the daemon wait for it that long)
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 300 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		echo "round $round: still running 15 s after SIGTERM"
		kill -KILL "$pid"
	fi
	wait "$pid"
	st=$?
	pid=
	why=
	[ $mt -ne 0 ] && why="$why miltertest failed;"
	[ $st -ne 0 ] && why="$why exit status $st;"
	grep -q 'notice: SIGHUP: reloading' "$dir/log" ||
		why="$why no SIGHUP;"
	grep -q 'notice: SIGTERM: stopping' "$dir/log" ||
		why="$why no SIGTERM;"
	grep -q 'notice: stopped$' "$dir/log" || why="$why no clean stop;"
	grep -q 'libmilter stopped\|Sanitizer\|runtime error' "$dir/log" &&
		why="$why libmilter stopped on its own or a sanitizer spoke;"
	if [ -n "$why" ]; then
		fail=$((fail + 1))
		echo "FAIL - round $round:$why"
		cat "$dir/mt.out" "$dir/log"
	elif [ $round = 1 ]; then
		grep '^ok' "$dir/mt.out"
	fi
	round=$((round + 1))
done
echo "$((rounds - fail)) passed, $fail failed"
[ $fail -eq 0 ]
