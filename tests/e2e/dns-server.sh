#!/bin/sh
# dns-server.sh -- a real authoritative DNS server (nsd) on loopback for
# tests, serving our fixture zone files.
#
#   dns-server.sh start DIR PORT ZONEFILE...   start, wait until it answers
#   dns-server.sh stop DIR                     stop it
#
# The fixture files hold names of many domains and usually no SOA, so
# they are served as one root zone ("."): every name is below the apex, no
# delegation is needed, and NXDOMAIN, NODATA and empty non-terminals come
# out as for the in-process zone backend. The script adds the root SOA
# (negative TTL 60) and NS. A file record that is an SOA starts a zone of
# its own holding the names below it. Files are parsed one by one with
# ldns-read-zone, so $ORIGIN and $TTL do not leak between them.
# ";@fault" directives are comments to nsd: they do not apply here.
# Listens on 127.0.0.1 and, when the host has it, ::1. DIR holds the
# config, zone, pid and log (the caller creates and removes it).
# Exit 0 on success; 1 with the nsd log on stderr otherwise.
set -u

die() {
	echo "dns-server.sh: $*" >&2
	exit 1
}

has_ipv6() {
	grep -q '^00000000000000000000000000000001' /proc/net/if_inet6 \
	    2>/dev/null
}

answers() {
	drill -p "$2" @127.0.0.1 . SOA 2>/dev/null | grep -q 'rcode: NOERROR'
}

# The records (one per line, absolute names, from ldns-read-zone) go to the
# zone of the closest enclosing SOA owner among them, else to the root
# zone ".", which gets its own SOA (negative TTL 60) and NS. Writes
# DIR/APEXzone (APEX with its final dot) for each zone and the list of apexes to DIR/apexes.
split_zones() {
	awk -v dir="$1" '
	NR == FNR { if (toupper($4) == "SOA") apex[tolower($1)] = 1; next }
	FNR == 1 {
		root = dir "/.zone"
		print ". 3600 IN SOA ns.test. hostmaster.test. 1 3600 900 604800 60" > root
		print ". 3600 IN NS ns.test." > root
		print "." > (dir "/apexes")
		for (a in apex) { print a > (dir "/apexes"); printf "" > (dir "/" a "zone") }
	}
	/^[ \t]*(;|$)/ { next }
	{
		owner = tolower($1); best = ""
		for (a in apex)
			if ((owner == a || substr(owner, length(owner) - length(a)) == "." a) && length(a) > length(best))
				best = a
		print > (best == "" ? root : dir "/" best "zone")
	}' "$1/all.rr" "$1/all.rr"
}

start() {
	dir=$1 port=$2
	shift 2
	[ -d "$dir" ] || die "no directory $dir"
	command -v nsd >/dev/null || die "nsd not installed"
	command -v drill >/dev/null || die "drill (ldnsutils) not installed"
	command -v ldns-read-zone >/dev/null ||
	    die "ldns-read-zone (ldnsutils) not installed"
	: > "$dir/all.rr"
	for f in "$@"; do
		ldns-read-zone "$f" >> "$dir/all.rr" 2>"$dir/read.log" ||
		    { cat "$dir/read.log" >&2; die "cannot parse $f"; }
	done
	split_zones "$dir"
	ip6=
	has_ipv6 && ip6="	ip-address: ::1@$port"
	cat > "$dir/nsd.conf" <<CONF
server:
	ip-address: 127.0.0.1@$port
$ip6
	port: $port
	username: ""
	chroot: ""
	zonesdir: "$dir"
	database: ""
	zonelistfile: "$dir/zone.list"
	xfrdfile: "$dir/xfrd.state"
	pidfile: "$dir/nsd.pid"
	logfile: "$dir/nsd.log"
	server-count: 1
	verbosity: 1
	hide-version: yes
remote-control:
	control-enable: no
CONF
	while read -r apex; do
		printf 'zone:\n\tname: "%s"\n\tzonefile: "%s"\n' \
		    "$apex" "$dir/${apex}zone" >> "$dir/nsd.conf"
		nsd-checkzone "$apex" "$dir/${apex}zone" \
		    >"$dir/checkzone.log" 2>&1 ||
		    { cat "$dir/checkzone.log" >&2; die "zone $apex does not load"; }
	done < "$dir/apexes"
	nsd -d -c "$dir/nsd.conf" >"$dir/nsd.out" 2>&1 &
	echo $! > "$dir/server.pid"
	i=0
	while [ $i -lt 100 ]; do
		if answers 127.0.0.1 "$port"; then
			return 0
		fi
		if ! kill -0 "$(cat "$dir/server.pid")" 2>/dev/null; then
			cat "$dir/nsd.out" "$dir/nsd.log" >&2 2>/dev/null
			die "nsd exited"
		fi
		sleep 0.1
		i=$((i + 1))
	done
	stop "$dir"
	die "nsd does not answer on port $port"
}

stop() {
	dir=$1
	[ -f "$dir/server.pid" ] || return 0
	pid=$(cat "$dir/server.pid")
	kill "$pid" 2>/dev/null
	i=0
	while kill -0 "$pid" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	kill -9 "$pid" 2>/dev/null
	rm -f "$dir/server.pid"
	return 0
}

case "${1:-}" in
start)
	[ $# -ge 4 ] || die "usage: dns-server.sh start DIR PORT ZONEFILE..."
	shift
	start "$@"
	;;
stop)
	[ $# -eq 2 ] || die "usage: dns-server.sh stop DIR"
	stop "$2"
	;;
*)
	die "usage: dns-server.sh start DIR PORT ZONEFILE... | stop DIR"
	;;
esac
