#!/bin/sh
# bench_milter.sh [BENCH_MILTER] -- authmilter at the milter protocol
# level: messages/s and milter CPU ms per message, signing (rsa-2048) and
# verifying (DKIM + SPF + DMARC, warm DNS cache), 2 KB and 20 KB bodies,
# on a unix socket and on an inet socket; the do-nothing milter
# (null_milter, both modes) on the same sockets as the baseline; then
# opendkim (Debian) signing, and opendkim + opendmarc chained verifying
# the same messages (peers.sh: needs root), when installed.
# COUNT (default 2000) messages per figure. Prints figures, asserts
# nothing.
set -u
src=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AUTHMILTER_BUILD_ROOT:-$src/build}
client=${1:-$build/tests/bench/bench_milter}
am=$build/src/cli/authmilter
null=$build/tests/bench/null_milter
count=${COUNT:-2000}
dir=$(mktemp -d /var/tmp/authmilter-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	peers_stop
	peers_dns_stop
	sh "$src/tests/e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	rm -rf "$dir" "${odir:-}"
}
. "$src/tests/bench/peers.sh"
trap cleanup EXIT
chmod 755 "$dir"
mkdir "$dir/dns"
dnsport=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
sh "$src/tests/e2e/dns-server.sh" start "$dir/dns" "$dnsport" \
    "$src/keys/demo/demo.zone" >/dev/null || exit 1
install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/demo-rsa.private"

# run SOCKET-SPEC CONNECT-SPEC: start authmilter, print its four figures
run() {
	cat >"$dir/am.conf" <<CONF
Socket $1
AuthservID mx.bench.example
Domain example.com
Selector demo-rsa
KeyFile $dir/demo-rsa.private
InternalHosts 203.0.113.0/24
Nameservers 127.0.0.1@$dnsport
LogLevel warning
CONF
	"$am" run -c "$dir/am.conf" -f >"$dir/am.log" 2>&1 &
	pid=$!
	sleep 0.5
	for mode in sign verify; do
		for size in 2000 20000; do
			"$client" "$2" "$pid" $mode $size "$count"
		done
	done
	case $2 in inet:*)
		echo "   the same with TCP_NODELAY on the client (MTA) side too:"
		for mode in sign verify; do
			BENCH_NODELAY=1 "$client" "$2" "$pid" $mode 2000 "$count"
		done
	esac
	kill "$pid"
	wait "$pid"
	pid=
}
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
echo "== authmilter, unix socket ($count messages each)"
run "local:$dir/am.sock" "unix:$dir/am.sock"
echo "== authmilter, inet socket (TCP_NODELAY on its side; the client"
echo "   writes like an MTA without TCP_NODELAY: Nagle waits for the"
echo "   milter's delayed ACK once per message)"
run "inet:$port@127.0.0.1" "inet:$port@127.0.0.1"

# null_run SOCKET-SPEC CONNECT-SPEC [noreply]: the do-nothing milter
null_run() {
	"$null" "$1" ${3:-} >"$dir/null.log" 2>&1 &
	pid=$!
	sleep 0.3
	for size in 2000 20000; do
		"$client" "$2" "$pid" null $size "$count"
	done
	kill "$pid"
	wait "$pid"
	pid=
}
for nr in "" noreply; do
	echo "== null_milter ${nr:-continue}, unix socket"
	null_run "local:$dir/null.sock" "unix:$dir/null.sock" $nr
	port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
	echo "== null_milter ${nr:-continue}, inet socket"
	null_run "inet:$port@127.0.0.1" "inet:$port@127.0.0.1" $nr
done

command -v opendkim >/dev/null || exit 0
# opendkim refuses keys and configs under world-writable directories
# (/tmp, /var/tmp): its files go to a private directory
odir=$(mktemp -d /run/authmilter-bench-odkim.XXXXXX)
chmod 700 "$odir"
cp "$dir/demo-rsa.private" "$odir/key"
cat >"$odir/odkim.conf" <<CONF
Socket local:$odir/sock
Domain example.com
Selector demo-rsa
KeyFile $odir/key
InternalHosts 203.0.113.0/24
Canonicalization relaxed/simple
Mode sv
Syslog no
Background no
UserID root
CONF
echo "== opendkim $(opendkim -V 2>&1 | head -1 | awk '{print $NF}'), unix socket, signing"
opendkim -f -x "$odir/odkim.conf" >"$odir/log" 2>&1 &
pid=$!
sleep 0.5
for size in 2000 20000; do
	"$client" "unix:$odir/sock" "$pid" sign $size "$count"
done
kill "$pid"
wait "$pid"
pid=

command -v opendmarc >/dev/null || exit 0
echo "== opendkim + opendmarc chained, unix sockets, verifying (CPU: both)"
peers_dns "$dir/dns" || exit 1
peers_start "$odir" "local:$odir/k.sock" "local:$odir/d.sock" || exit 1
for size in 2000 20000; do
	BENCH_PEER="unix:$odir/d.sock $odmarc_pid" \
	    "$client" "unix:$odir/k.sock" "$odkim_pid" verify $size "$count"
done
peers_stop
