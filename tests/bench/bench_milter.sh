#!/bin/sh
# bench_milter.sh [BENCH_MILTER] -- authmilter at the milter protocol
# level: messages/s and milter CPU ms per message, signing (rsa-2048) and
# verifying (DKIM + SPF + DMARC, warm DNS cache), 2 KB and 20 KB bodies,
# on a unix socket and on an inet socket; then opendkim (Debian) signing
# and verifying on the same load for comparison, when installed.
# COUNT (default 2000) messages per figure. Prints figures, asserts
# nothing.
set -u
src=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AUTHMILTER_BUILD_ROOT:-$src/build}
client=${1:-$build/tests/bench/bench_milter}
am=$build/src/cli/authmilter
count=${COUNT:-2000}
dir=$(mktemp -d /var/tmp/authmilter-bench.XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	sh "$src/tests/e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	rm -rf "$dir"
}
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
	kill "$pid"
	wait "$pid"
	pid=
}
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
echo "== authmilter, unix socket ($count messages each)"
run "local:$dir/am.sock" "unix:$dir/am.sock"
echo "== authmilter, inet socket (TCP_NODELAY on its side)"
run "inet:$port@127.0.0.1" "inet:$port@127.0.0.1"

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
echo "   (its verification needs a resolver on port 53: not measured here)"
opendkim -f -x "$odir/odkim.conf" >"$odir/log" 2>&1 &
pid=$!
sleep 0.5
for size in 2000 20000; do
	"$client" "unix:$odir/sock" "$pid" sign $size "$count"
done
kill "$pid"
wait "$pid"
pid=
rm -rf "$odir"
