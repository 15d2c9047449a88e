#!/bin/sh
# test_dns_live.sh BINARY -- the ldns backend against a real nsd on
# loopback: start it (dns-server.sh), run BINARY up; put the fault proxy
# (dns_fault_proxy.py) in front of it with one name delayed, run BINARY
# slow; stop nsd, run BINARY down. Without nsd or python3-dnspython:
# exit 77 (skip), or fail when CI=true.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data/dns

if ! command -v nsd >/dev/null || ! command -v drill >/dev/null ||
    ! command -v ldns-read-zone >/dev/null ||
    ! /usr/bin/python3 -c 'import dns.message' 2>/dev/null; then
	echo "nsd, drill, ldns-read-zone or python3-dnspython missing"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
dir=$(mktemp -d)
proxy=
trap '[ -n "$proxy" ] && kill "$proxy"; "$here/dns-server.sh" stop "$dir"; rm -rf "$dir"' EXIT
# a high port from our pid; try a few in case one is taken
started=
for i in 0 1 2 3 4; do
	port=$((20000 + ($$ * 7 + i * 1013) % 40000))
	if "$here/dns-server.sh" start "$dir" "$port" "$data/basic.zone" \
	    "$data/big.zone"; then
		started=yes
		break
	fi
done
[ -n "$started" ] || { echo "cannot start nsd"; exit 1; }
dead=$((port + 1))
"$bin" up "$port" "$dead" || exit 1
/usr/bin/python3 "$here/dns_fault_proxy.py" --upstream "$port" \
    --port-file "$dir/proxy.port" --delay slow.example.net=5 &
proxy=$!
i=0
while [ ! -s "$dir/proxy.port" ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
"$bin" slow "$(cat "$dir/proxy.port")" || exit 1
kill "$proxy"
proxy=
"$here/dns-server.sh" stop "$dir"
"$bin" down "$port" || exit 1
