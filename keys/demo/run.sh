#!/bin/sh
# run.sh -- the Quick start's first command: the milter doing its job.
#
# Installs what is missing and builds authmilter, then, all on loopback
# and in a private directory:
#   - nsd answers DNS from keys/demo/demo.zone (tests/e2e/dns-server.sh);
#   - `authmilter run` starts on keys/demo/authmilter.conf (both demo
#     keys, RSA and Ed25519), its socket inside the queue directory of
#   - a private Postfix (tests/e2e/postfix-instance.sh) that relays
#     everything to an smtp-sink;
#   - outbound: keys/demo/message.eml, sent from 127.0.0.1 (InternalHosts),
#     comes out signed;
#   - inbound: the signed message comes back from 127.0.0.25 with a forged
#     Authentication-Results header added by its sender; it comes out with
#     DKIM, SPF and DMARC evaluated by the milter and the forged header
#     removed;
#   - last, `authmilter verify` gives the same verdict offline.
# It prints both header sections, and stops everything it started, also
# when something fails. Needs root (Postfix) on Debian 12.
#
# TEST-ONLY keys: demo-rsa.private and demo-ed.private are published in
# this repository. Never use them for a real domain.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
sh packaging/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
am=$top/build/src/cli/authmilter
demo=$top/keys/demo
e2e=$top/tests/e2e
[ "$(id -u)" = 0 ] || { echo "run.sh: run it as root (Postfix)" >&2; exit 1; }

# Postfix (user postfix) must reach the milter socket in its queue
# directory: a private directory others may search
work=$(mktemp -d /var/tmp/authmilter-demo.XXXXXX)
chmod 755 "$work"
mpid=
cleanup() {
	if [ -n "$mpid" ]; then
		kill "$mpid" 2>/dev/null
		wait "$mpid" 2>/dev/null
	fi
	bash "$e2e/postfix-instance.sh" stop "$work/pf" >/dev/null 2>&1
	sh "$e2e/dns-server.sh" stop "$work/dns" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
failed() {
	echo "run.sh: $*" >&2
	for f in authmilter.log pf/maillog; do
		[ -s "$work/$f" ] && { echo "--- $f" >&2; tail -20 "$work/$f" >&2; }
	done
	exit 1
}

echo "== starting nsd (DNS from keys/demo/demo.zone), authmilter and Postfix"
mkdir "$work/dns"
dnsport=
for try in 1 2 3 4 5; do
	p=$(sh "$e2e/free-port.sh")
	if sh "$e2e/dns-server.sh" start "$work/dns" "$p" "$demo/demo.zone" \
	    2>"$work/dns.err"; then
		dnsport=$p
		break
	fi
done
[ -n "$dnsport" ] || failed "nsd did not start: $(cat "$work/dns.err")"

# the demo configuration, keys and tables, plus where to listen and ask
mkdir "$work/etc"
cp "$demo/authmilter.conf" "$demo/KeyTable" "$demo/SigningTable" "$work/etc/"
for k in demo-rsa demo-ed; do	# git keeps no modes: keys must be 0600
	install -m 0600 "$demo/$k.private" "$work/etc/$k.private"
done
sock_dir=$work/pf/queue/authmilter
mkdir -p "$sock_dir"
chgrp postfix "$sock_dir"
chmod 0750 "$sock_dir"
{
	echo "Socket local:$sock_dir/authmilter.sock"
	echo "Nameservers 127.0.0.1@$dnsport"
} >>"$work/etc/authmilter.conf"
"$am" run -c "$work/etc/authmilter.conf" -f >"$work/authmilter.log" 2>&1 &
mpid=$!
i=0
until grep -q ' started: ' "$work/authmilter.log"; do
	kill -0 "$mpid" 2>/dev/null || failed "authmilter did not start"
	i=$((i + 1))
	[ $i -lt 200 ] || failed "authmilter did not start in 10 s"
	sleep 0.05
done

smtp=$(sh "$e2e/free-port.sh")
sink=$(sh "$e2e/free-port.sh")
# Postfix's own name for the socket: relative to its queue directory,
# exactly as in the README's main.cf lines
bash "$e2e/postfix-instance.sh" start "$work/pf" "$smtp" "$sink" \
	unix:authmilter/authmilter.sock >"$work/postfix.out" 2>&1 ||
	failed "Postfix did not start: $(cat "$work/postfix.out")"

# send SOURCE-IP FILE: SMTP from SOURCE-IP, alice@example.com to
# bob@example.net
send() {
	/usr/bin/python3 "$e2e/smtp_send.py" "$smtp" "$1" alice@example.com \
		bob@example.net "$2" >"$work/send.out" ||
		failed "Postfix refused the message: $(cat "$work/send.out")"
}

# delivered N: the message the sink got (one at a time: each is taken
# out of the sink once read, since smtp-sink names files by the second),
# without smtp-sink's envelope lines and its Received field (the sink
# only stands in for bob's server), into $work/delivered-N.eml (waits up
# to 20 s)
delivered() {
	i=0
	while [ "$(ls "$work/pf/sink" | wc -l)" -lt 1 ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || failed "message $1 was not delivered"
		[ $((i % 20)) = 0 ] &&
			bash "$e2e/postfix-instance.sh" flush "$work/pf"
		sleep 0.1
	done
	f=$(ls "$work/pf/sink/"* | sort | sed -n 1p)
	sed -e '1,/^X-Rcpt-Args:/d' "$f" | awk '
	body { print; next }
	/^\r?$/ { printf "%s", field; print; body = 1; next }
	/^[ \t]/ { field = field $0 "\n"; next }
	{ if (field !~ /by smtp-sink/) printf "%s", field; field = $0 "\n" }
	' >"$work/delivered-$1.eml"
	rm -f "$f"
}

headers() {	# the header section of a file, without CRs
	sed -n '1,/^\r\{0,1\}$/p' "$1" | tr -d '\r'
}

send 127.0.0.1 "$demo/message.eml"
delivered 1
echo
echo "== outbound: sent from 127.0.0.1 (InternalHosts), signed by the milter"
headers "$work/delivered-1.eml"

# the same message comes back from outside, with a header its sender made
# up to look verified by us
{
	printf 'Authentication-Results: mx.example.net; dkim=pass; spf=pass;'
	printf ' dmarc=pass (forged by the sender)\r\n'
	cat "$work/delivered-1.eml"
} >"$work/inbound.eml"
send 127.0.0.25 "$work/inbound.eml"
delivered 2
echo "== inbound: sent from 127.0.0.25 with a made-up Authentication-Results;"
echo "== the milter evaluated DKIM, SPF and DMARC and removed the made-up one"
headers "$work/delivered-2.eml"

echo "== authmilter verify, offline (same envelope, DNS from demo.zone):"
echo "== the verdict the milter gave"
"$am" verify --zone "$demo/demo.zone" --authserv-id mx.example.net \
	--ip 127.0.0.25 --helo client.example --mail-from alice@example.com \
	"$work/inbound.eml"
