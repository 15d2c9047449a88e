# peers.sh -- sourced by the milter benchmarks: opendkim (verify) +
# opendmarc from Debian, verifying side by side with authmilter.
# opendmarc and libspf2 read only /etc/resolv.conf and ask port 53, so the
# peers run in private mount namespaces where a temporary resolv.conf
# names PEER_NS, served by a second nsd on PEER_NS port 53 with the same
# zones; the host's resolv.conf is untouched. Needs root.
#
#   peers_dns DNSDIR      start nsd on PEER_NS:53 from the config
#                         dns-server.sh wrote in DNSDIR (it must run)
#   peers_start ODIR SOCK1 SOCK2
#                         opendkim (Mode sv, 127.0.0.1 external) on
#                         SOCK1, opendmarc on SOCK2; sets odkim_pid,
#                         odmarc_pid. ODIR: a mode 0700 directory outside
#                         world-writable ones, holding "key"
#   peers_stop            stop both and the port-53 nsd
PEER_NS=${PEER_NS:-127.0.0.153}
odkim_pid=
odmarc_pid=
peers_nsd=

peers_dns() {
	if ss -lnu "src $PEER_NS:53" | grep -q ":53"; then
		echo "peers.sh: something listens on $PEER_NS:53" >&2
		return 1
	fi
	mkdir -p "$1.53"
	sed -e "/ip-address:/d" -e "s/^\tport: .*/\tip-address: $PEER_NS@53\n\tport: 53/" \
	    -e "s|pidfile: .*|pidfile: \"$1.53/nsd.pid\"|" \
	    -e "s|logfile: .*|logfile: \"$1.53/nsd.log\"|" \
	    -e "s|zonelistfile: .*|zonelistfile: \"$1.53/zone.list\"|" \
	    -e "s|xfrdfile: .*|xfrdfile: \"$1.53/xfrd.state\"|" \
	    "$1/nsd.conf" >"$1.53/nsd.conf"
	nsd -d -c "$1.53/nsd.conf" >"$1.53/out" 2>&1 &
	peers_nsd=$!
	i=0
	until drill @"$PEER_NS" . SOA 2>/dev/null | grep -q NOERROR; do
		i=$((i + 1))
		[ $i -lt 50 ] || { cat "$1.53/out" >&2; return 1; }
		sleep 0.1
	done
	printf 'nameserver %s\n' "$PEER_NS" >"$1.53/resolv.conf"
	peers_resolv=$1.53/resolv.conf
}

# in_ns CMD...: exec CMD in a private mount namespace with our resolv.conf
in_ns() {
	exec unshare -m sh -c 'mount --bind "$0" /etc/resolv.conf && exec "$@"' \
	    "$peers_resolv" "$@"
}

peers_start() {
	od=$1
	cat >"$od/odkim.conf" <<CONF
Socket $2
Domain example.com
Selector demo-rsa
KeyFile $od/key
InternalHosts 203.0.113.0/24
Canonicalization relaxed/simple
Mode sv
AuthservID odkim.bench.example
Nameservers $PEER_NS
Syslog no
Background no
UserID root
CONF
	echo 203.0.113.0/24 >"$od/ignore"
	cat >"$od/odmarc.conf" <<CONF
Socket $3
AuthservID mx.bench.example
TrustedAuthservIDs odkim.bench.example
IgnoreHosts $od/ignore
SPFSelfValidate true
SPFIgnoreResults true
RejectFailures false
Syslog false
Background false
UserID root
PidFile $od/odmarc.pid
CONF
	in_ns opendkim -f -x "$od/odkim.conf" >"$od/odkim.log" 2>&1 &
	odkim_pid=$!
	in_ns opendmarc -f -c "$od/odmarc.conf" >"$od/odmarc.log" 2>&1 &
	odmarc_pid=$!
	sleep 0.7
	kill -0 "$odkim_pid" 2>/dev/null && kill -0 "$odmarc_pid" 2>/dev/null ||
	    { cat "$od/odkim.log" "$od/odmarc.log" >&2; return 1; }
}

peers_stop() {
	for p in $odkim_pid $odmarc_pid; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	odkim_pid=
	odmarc_pid=
}

peers_dns_stop() {
	[ -n "$peers_nsd" ] && kill "$peers_nsd" 2>/dev/null &&
	    wait "$peers_nsd" 2>/dev/null
	peers_nsd=
}
