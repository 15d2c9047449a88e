#!/bin/sh
# bench_milter_postfix.sh -- throughput through a real Postfix:
# smtp-source -> Postfix (postfix-instance.sh) -> smtp-sink, with no
# milter, with authmilter signing, with authmilter verifying (SPF and
# DMARC lookups served by nsd, cache warm), and with opendkim signing,
# each milter on an inet socket on loopback. Prints messages/s (wall
# clock until the sink has them all) and the milter's CPU ms per message.
# COUNT (default 500) messages, SESSIONS (default 4) parallel SMTP
# sessions, 2 KB bodies. Needs root. Asserts nothing.
set -u
src=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AUTHMILTER_BUILD_ROOT:-$src/build}
am=$build/src/cli/authmilter
e2e=$src/tests/e2e
count=${COUNT:-500}
sessions=${SESSIONS:-4}
hz=$(getconf CLK_TCK)
dir=$(mktemp -d /var/tmp/authmilter-bpf.XXXXXX)
odir=$(mktemp -d /run/authmilter-bpf-odkim.XXXXXX)
mpid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
	sh "$e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	rm -rf "$dir" "$odir"
}
trap cleanup EXIT
chmod 755 "$dir"
chmod 700 "$odir"
mkdir "$dir/dns"
port() {
	echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
}
dnsport=$(port)
sh "$e2e/dns-server.sh" start "$dir/dns" "$dnsport" \
    "$src/keys/demo/demo.zone" "$src/tests/milter/milter.zone" >/dev/null ||
	exit 1
install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/key"
cp "$dir/key" "$odir/key"

cpu() {
	[ -n "$1" ] || { echo 0; return; }
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

# round LABEL MILTER-SPEC PID: send COUNT messages through a fresh
# Postfix using MILTER-SPEC (empty: none), print the figures
round() {
	smtp=$(port)
	sink=$(port)
	rm -rf "$dir/pf"
	mkdir "$dir/pf"
	bash "$e2e/postfix-instance.sh" start "$dir/pf" "$smtp" "$sink" \
	    "$2" >/dev/null || { echo "postfix did not start" >&2; exit 1; }
	# warm up: one message (DNS cache, connections)
	smtp-source -m 1 -l 2048 -f user@example.com -t rcpt@example.net \
	    -S bench 127.0.0.1:"$smtp" >/dev/null 2>&1
	sleep 1
	base=$(ls "$dir/pf/sink" | wc -l)
	c0=$(cpu "$3")
	t0=$(date +%s.%N)
	smtp-source -s "$sessions" -m "$count" -l 2048 -f "${sender:-user@example.com}" \
	    -t rcpt@example.net -S bench 127.0.0.1:"$smtp" >/dev/null 2>&1
	i=0
	while [ $(($(ls "$dir/pf/sink" | wc -l) - base)) -lt "$count" ] &&
	    [ $i -lt 1200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	t1=$(date +%s.%N)
	c1=$(cpu "$3")
	got=$(($(ls "$dir/pf/sink" | wc -l) - base))
	bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
	awk -v l="$1" -v n="$got" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" \
	    -v hz="$hz" 'BEGIN { printf "%-34s %6.0f msgs/s  %6.2f ms CPU/msg" \
	    " (milter)  %d delivered\n", l, n / (t1 - t0),
	    n ? c * 1000 / hz / n : 0, n }'
}

# start_am INTERNAL: authmilter on an inet socket; sets mpid, mspec
start_am() {
	mport=$(port)
	cat >"$dir/am.conf" <<EOF
Socket inet:$mport@127.0.0.1
AuthservID mx.bench.example
Domain example.com
Selector demo-rsa
KeyFile $dir/key
InternalHosts $1
Nameservers 127.0.0.1@$dnsport
LogLevel warning
EOF
	"$am" run -c "$dir/am.conf" -f >"$dir/am.log" 2>&1 &
	mpid=$!
	sleep 0.5
	mspec=inet:127.0.0.1:$mport
}
stop_milter() {
	kill "$mpid"
	wait "$mpid" 2>/dev/null
	mpid=
}

echo "== through Postfix: $count messages, $sessions sessions, 2 KB"
round "no milter" "" ""
start_am 127.0.0.1
round "authmilter sign (rsa-2048)" "$mspec" "$mpid"
stop_milter
# 127.0.0.1 external: mail from example.com would fail its SPF and be
# rejected by its p=reject, so the sender is a domain without records:
# DKIM (no signature), SPF and DMARC lookups all happen (cache warm)
start_am 203.0.113.0/24
sender=user@bench.example round "authmilter verify (SPF+DMARC)" "$mspec" \
    "$mpid"
stop_milter

command -v opendkim >/dev/null || exit 0
oport=$(port)
cat >"$odir/odkim.conf" <<EOF
Socket inet:$oport@127.0.0.1
Domain example.com
Selector demo-rsa
KeyFile $odir/key
InternalHosts 127.0.0.1
Mode sv
Syslog no
Background no
UserID root
EOF
opendkim -f -x "$odir/odkim.conf" >"$odir/log" 2>&1 &
mpid=$!
sleep 0.5
round "opendkim sign (rsa-2048)" "inet:127.0.0.1:$oport" "$mpid"
stop_milter
