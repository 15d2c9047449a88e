# rotate-lib.sh -- what the key rotation tests share; they source it after
# lib.sh. It starts, in a private directory, on loopback:
#   - Knot DNS as the primary of the zone rot.test on 127.0.0.1@PORT,
#     accepting updates signed with a TSIG key (hmac-sha256) and sending
#     NOTIFY to
#   - Knot DNS as a secondary on 127.0.0.2@PORT (the same free port), so
#     the zone has two authoritative servers (NS ns1, ns2);
#   - Unbound as the resolver on 127.0.0.1@RPORT with rot.test as a stub
#     zone pointing at both, caching as resolvers do;
#   - `authmilter run` with an operator's KeyTable and SigningTable (key
#     op2025 for rot.test, in the zone) and rotation configured
#     (RotateDomains rot.test), signing for clients in 203.0.113.0/24.
# Mail is signed through the daemon by miltertest (rotate_sign.lua) and
# verified with dkimpy against the primary.
#
# Sets: dir, port (Knot), rport (Unbound), conf, now (the rotation clock,
# advanced by the tests), keyname, secret. Functions below.
# Everything started is stopped by rot_cleanup (trap it).
need knotd
need knotc
need unbound
need unbound-control
need miltertest
need drill
/usr/bin/python3 -c 'import dkim' 2>/dev/null ||
	unavailable "python3-dkim is missing (packaging/install-deps.sh)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-rotate.XXXXXX")
chmod 755 "$dir"
mkdir "$dir/p" "$dir/s" "$dir/u" "$dir/keys" "$dir/state" "$dir/op" \
	"$dir/p/db" "$dir/s/db"
mpid=
keyname=rot-update
secret=$(head -c 32 /dev/urandom | base64)
now=$(date +%s)
day=86400

rot_cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	for p in "$dir/p" "$dir/s"; do
		[ -f "$p/pid" ] && kill "$(cat "$p/pid")" 2>/dev/null
	done
	[ -f "$dir/u/pid" ] && kill "$(cat "$dir/u/pid")" 2>/dev/null
	sleep 0.2
	if [ "${KEEP:-}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}

# answers ADDR PORT: whether a server answers for rot.test
answers() {
	drill -p "$2" @"$1" rot.test SOA 2>/dev/null | grep -q 'rcode: NOERROR'
}

# knot_conf DIR ROLE: the primary (update ACL, NOTIFY the secondary) or
# the secondary (transfers from the primary)
knot_conf() {
	addr=127.0.0.1
	[ "$2" = secondary ] && addr=127.0.0.2
	cat >"$1/knot.conf" <<EOF
server:
    listen: $addr@$port
    rundir: $1
log:
  - target: $1/knot.log
    any: info
database:
    storage: $1/db
EOF
	case $2 in
	primary)
		cat >>"$1/knot.conf" <<EOF
key:
  - id: $keyname
    algorithm: hmac-sha256
    secret: $secret
remote:
  - id: secondary
    address: 127.0.0.2@$port
acl:
  - id: update
    key: $keyname
    action: update
    # as keys/README.md advises: DKIM records only
    update-owner: name
    update-owner-match: sub
    update-owner-name: _domainkey
    update-type: [TXT]
  - id: transfer
    address: 127.0.0.0/8
    action: transfer
template:
  - id: default
    storage: $1
    zonefile-sync: -1
    journal-content: changes
zone:
  - domain: rot.test
    file: rot.test.zone
    acl: [update, transfer]
    notify: secondary
EOF
		;;
	secondary)
		cat >>"$1/knot.conf" <<EOF
remote:
  - id: primary
    address: 127.0.0.1@$port
acl:
  - id: notify
    address: 127.0.0.0/8
    action: notify
template:
  - id: default
    storage: $1
    zonefile-sync: -1
zone:
  - domain: rot.test
    master: primary
    acl: notify
EOF
		;;
	esac
}

# knot_start DIR ADDR: start one Knot and wait until it answers
knot_start() {
	knotd -c "$1/knot.conf" >"$1/out.log" 2>&1 &
	echo $! >"$1/pid"
	i=0
	while ! answers "$2" "$port"; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$(cat "$1/pid")" 2>/dev/null
		then
			cat "$1/out.log" "$1/knot.log" >&2 2>/dev/null
			return 1
		fi
		sleep 0.1
	done
}

knot_stop() {
	[ -f "$1/pid" ] || return 0
	kill "$(cat "$1/pid")" 2>/dev/null
	i=0
	while kill -0 "$(cat "$1/pid")" 2>/dev/null && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	rm -f "$1/pid"
}

# knotc_set NAME "TXT RDATA" | knotc_unset NAME: change the primary's zone
# by hand, as an operator with a web form would (RDATA in zone-file form:
# quoted strings)
knotc_set() {
	knotc -c "$dir/p/knot.conf" zone-begin rot.test >/dev/null &&
	knotc -c "$dir/p/knot.conf" zone-unset rot.test "$1." TXT \
		>/dev/null 2>&1
	knotc -c "$dir/p/knot.conf" zone-set rot.test "$1." 300 TXT "$2" \
		>/dev/null &&
	knotc -c "$dir/p/knot.conf" zone-commit rot.test >/dev/null
}
knotc_unset() {
	knotc -c "$dir/p/knot.conf" zone-begin rot.test >/dev/null &&
	knotc -c "$dir/p/knot.conf" zone-unset rot.test "$1." TXT >/dev/null &&
	knotc -c "$dir/p/knot.conf" zone-commit rot.test >/dev/null
}

unbound_start() {
	cat >"$dir/u/unbound.conf" <<EOF
server:
    interface: 127.0.0.1
    port: $rport
    do-ip6: no
    username: ""
    chroot: ""
    directory: "$dir/u"
    pidfile: "$dir/u/unbound.pid"
    logfile: "$dir/u/unbound.log"
    use-syslog: no
    verbosity: 1
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    module-config: "iterator"
    qname-minimisation: no
    # test. is one of the names Unbound answers itself (RFC 6761)
    local-zone: "test." nodefault
stub-zone:
    name: "rot.test"
    stub-addr: 127.0.0.1@$port
    stub-addr: 127.0.0.2@$port
remote-control:
    control-enable: yes
    control-interface: "$dir/u/unbound.ctl"
    control-use-cert: no
EOF
	unbound -d -c "$dir/u/unbound.conf" >"$dir/u/out.log" 2>&1 &
	echo $! >"$dir/u/pid"
	i=0
	while ! answers 127.0.0.1 "$rport"; do
		i=$((i + 1))
		if [ $i -gt 100 ]; then
			cat "$dir/u/out.log" "$dir/u/unbound.log" >&2
			return 1
		fi
		sleep 0.1
	done
}

# unbound_flush: forget what the resolver cached about rot.test
unbound_flush() {
	unbound-control -c "$dir/u/unbound.conf" flush_zone rot.test \
		>/dev/null &&
	unbound-control -c "$dir/u/unbound.conf" flush_negative >/dev/null
}

# txt ADDR PORT NAME: the TXT data at NAME (strings joined; over TCP, as
# a revealed key makes a large record), empty when
# there is none; RD is clear for an authoritative server
txt() {
	drill -t -p "$2" @"$1" "$3" TXT 2>/dev/null | awk -F'\t' '
		/^;/ { next }
		$4 == "TXT" { s = $5; gsub(/" "/, "", s); gsub(/"/, "", s);
			print s; exit }'
}

# wait_txt ADDR NAME PATTERN: until the TXT data at NAME matches the
# grep pattern (up to 10 s); "-" waits until there is none
wait_txt() {
	i=0
	while :; do
		v=$(txt "$1" "$port" "$2")
		if [ "$3" = - ]; then [ -z "$v" ] && return 0
		else echo "$v" | grep -q -- "$3" && return 0; fi
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.1
	done
}

# setup_dns: the operator's key, the zone, both Knots, Unbound
setup_dns() {
	"$am" keygen -d rot.test -s op2025 -D "$dir/op" >/dev/null || return 1
	cat >"$dir/p/rot.test.zone" <<EOF
\$ORIGIN rot.test.
\$TTL 300
@ IN SOA ns1.rot.test. hostmaster.rot.test. 1 3600 900 604800 600
@ IN NS ns1
@ IN NS ns2
ns1 IN A 127.0.0.1
ns2 IN A 127.0.0.2
EOF
	cat "$dir/op/op2025.txt" >>"$dir/p/rot.test.zone"
	for try in 1 2 3 4 5; do
		port=$(sh "$e2e/free-port.sh")
		knot_conf "$dir/p" primary
		knot_conf "$dir/s" secondary
		if knot_start "$dir/p" 127.0.0.1 && knot_start "$dir/s" 127.0.0.2
		then
			break
		fi
		knot_stop "$dir/p"
		knot_stop "$dir/s"
		port=
	done
	[ -n "$port" ] || { echo "knot did not start" >&2; return 1; }
	for try in 1 2 3 4 5; do
		rport=$(sh "$e2e/free-port.sh")
		unbound_start && return 0
		[ -f "$dir/u/pid" ] && kill "$(cat "$dir/u/pid")" 2>/dev/null
	done
	echo "unbound did not start" >&2
	return 1
}

# daemon_stop: SIGTERM, wait
daemon_stop() {
	[ -n "$mpid" ] || return 0
	kill "$mpid" 2>/dev/null
	wait "$mpid" 2>/dev/null
	mpid=
}

# write_conf PUBLISH [EXTRA...]: the daemon's configuration
write_conf() {
	publish=$1
	shift
	conf=$dir/authmilter.conf
	printf 'op2025._domainkey.rot.test rot.test:op2025:%s\n' \
		"$dir/op/op2025.private" >"$dir/KeyTable"
	printf '*@rot.test op2025._domainkey.rot.test\n' >"$dir/SigningTable"
	printf 'key "%s" {\n\talgorithm hmac-sha256;\n\tsecret "%s";\n};\n' \
		"$keyname" "$secret" >"$dir/tsig.key"
	chmod 600 "$dir/tsig.key"
	cat >"$conf" <<EOF
Socket local:$dir/sock
PidFile $dir/authmilter.pid
AuthservID mx.test.example
KeyTable file:$dir/KeyTable
SigningTable refile:$dir/SigningTable
MultipleSignatures yes
InternalHosts 203.0.113.0/24
Nameservers 127.0.0.1@$rport
DNSTimeout 2
LogLevel debug
RotateDomains rot.test
RotatePublish $publish
RotateTSIGKey $dir/tsig.key
RotateUpdateServer 127.0.0.1@$port
RotateAuthPort $port
RotateStateDir $dir/state
RotateKeyDir $dir/keys
EOF
	for line in "$@"; do
		echo "$line" >>"$conf"
	done
}

# daemon_start [CONF]: the daemon, on $conf or CONF
daemon_start() {
	"$am" run -c "${1:-$conf}" -f >>"$dir/daemon.log" 2>&1 &
	mpid=$!
	i=0
	while [ ! -S "$dir/sock" ] || [ ! -s "$dir/authmilter.pid" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$mpid" 2>/dev/null; then
			cat "$dir/daemon.log" >&2
			return 1
		fi
		sleep 0.05
	done
}

# rot [ARGS]: one rotation run at the test's clock; its output in
# $dir/rot.out (stdout and stderr), its status in $rc
rot() {
	"$am" rotate -c "$conf" --now "$now" "$@" >"$dir/rot.out" 2>&1
	rc=$?
	cat "$dir/rot.out"
}

# phase: the phase of rot.test in the state file
phase() {
	sed -n 's/^domain rot.test phase=\([a-z]*\).*/\1/p' \
		"$dir/state/state" 2>/dev/null
}

# selectors ROLE: the selectors of rot.test's keys with that role
selectors() {
	awk -v r="$1" '$1 == "key" && $3 == r { printf "%s%s", s, $5; s = " " }
		END { print "" }' "$dir/state/state" 2>/dev/null
}

# sign NAME: sign one message through the daemon into $dir/NAME.eml;
# prints its selectors; 0 when dkimpy verifies every signature against
# the primary (not checked with NOVERIFY=1: verify NAME does it later).
# With RS_HOLD set, see rotate_sign.lua.
sign() {
	(cd "$src/tests/milter" &&
	MT_DIR=$dir MT_SOCK=$dir/sock MT_CONF=$conf MT_LOG=$dir/daemon.log \
	MT_PID=$mpid MT_PORT=$port MT_HERE=$src/tests/milter \
	RS_OUT=$dir/$1.eml RS_OUT2=$dir/$1-2.eml \
		miltertest -s "$e2e/rotate_sign.lua") >"$dir/sign.out" 2>&1 ||
		{ cat "$dir/sign.out" >&2; return 1; }
	sed -n 's/^selectors: //p' "$dir/sign.out" | tr '\n' ';'
	echo
	[ "${NOVERIFY:-}" = 1 ] || verify "$1"
}

# verify NAME: dkimpy verifies $dir/NAME.eml (and NAME-2.eml)
verify() {
	for f in "$dir/$1.eml" "$dir/$1-2.eml"; do
		[ -f "$f" ] || continue
		/usr/bin/python3 "$src/tests/milter/dkimpy_verify.py" "$port" \
			"$f" >"$dir/dkimpy.out" 2>&1 ||
			{ cat "$dir/dkimpy.out" >&2; return 1; }
	done
}
