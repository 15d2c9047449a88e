#!/bin/sh
# test_dns_live.sh BINARY -- the ldns backend against a real nsd on
# loopback: start it (dns-server.sh), run BINARY up, stop it, run BINARY
# down. Without nsd: exit 77 (skip), or fail when CI=true.
set -u
bin=$1
here=$(cd "$(dirname "$0")" && pwd)
data=$here/../data/dns

if ! command -v nsd >/dev/null || ! command -v drill >/dev/null ||
    ! command -v ldns-read-zone >/dev/null; then
	echo "nsd, drill or ldns-read-zone missing"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
dir=$(mktemp -d)
trap '"$here/dns-server.sh" stop "$dir"; rm -rf "$dir"' EXIT
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
"$here/dns-server.sh" stop "$dir"
"$bin" down "$port" || exit 1
