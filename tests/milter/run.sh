#!/bin/sh
# run.sh -- run one milter test: a real authmilter daemon on a unix socket
# in a fresh directory, nsd on loopback serving the test zones, and
# miltertest (Debian package miltertest) playing the MTA with NAME.lua.
#
#   run.sh NAME [BIN]  (tests/milter/NAME.lua; NAME.conf adds or overrides
#                       configuration lines; @DIR@ and @PORT@ are replaced;
#                       NAME.proxy, when there, holds the flags of a DNS
#                       fault proxy (tests/e2e/dns_fault_proxy.py) put
#                       between the daemon and nsd: @PORT@ is then its
#                       port; BIN: the daemon to run, default the
#                       authmilter build; NAME.supp: LeakSanitizer
#                       suppressions instead of lsan.supp)
#
# The script sees MT_DIR (the test directory), MT_SOCK (the socket path),
# MT_CONF (the configuration file), MT_LOG (the daemon's log), MT_PID and
# MT_PORT (the DNS port the daemon asks), MT_NSD_PORT (nsd itself),
# MT_PROXY_LOG (the proxy's log, one line a query), MT_AM (the authmilter
# binary), and loads lib.lua. A Lua error fails the test.
# Exit 77 (skip) when miltertest or nsd is missing, unless CI=true.
set -u
name=$1
src=${AUTHMILTER_SOURCE_ROOT:?}
build=${AUTHMILTER_BUILD_ROOT:?}
here=$src/tests/milter
am=${2:-$build/src/cli/authmilter}
supp=$src/tests/milter/lsan.supp
[ -f "$src/tests/milter/$name.supp" ] && supp=$src/tests/milter/$name.supp

need() {
	command -v "$1" >/dev/null 2>&1 && return 0
	echo "run.sh: $1 is not installed (packaging/install-deps.sh)" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}
need miltertest
need nsd
need drill

dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-mt.XXXXXX")
pid=
proxy=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	# what a test mounted in its directory and left (metrics: a full
	# tmpfs as the spool)
	awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts |
	    xargs -r umount -l
	[ -n "$proxy" ] && kill "$proxy" 2>/dev/null && wait "$proxy" 2>/dev/null
	sh "$src/tests/e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	if [ "${KEEP:-}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}
trap cleanup EXIT
chmod 755 "$dir"
mkdir "$dir/spool"

# DNS: the demo zone (example.com keys, SPF, DMARC) and the test zone
mkdir "$dir/dns"
port=
for try in 1 2 3 4 5; do
	p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
	if sh "$src/tests/e2e/dns-server.sh" start "$dir/dns" "$p" \
	    "$src/keys/demo/demo.zone" "$here/milter.zone" >"$dir/dns.log" 2>&1
	then
		port=$p
		break
	fi
done
[ -n "$port" ] || { cat "$dir/dns.log" >&2; echo "nsd did not start" >&2; exit 1; }
nsd_port=$port

# the fault proxy in front of nsd, when the test wants one
: >"$dir/proxy.log"
if [ -f "$here/$name.proxy" ]; then
	[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import dns.message' \
	    2>/dev/null || need python3-dnspython
	# shellcheck disable=SC2046
	/usr/bin/python3 "$src/tests/e2e/dns_fault_proxy.py" \
	    --upstream "$nsd_port" --port-file "$dir/proxy.port" \
	    --log "$dir/proxy.log" $(cat "$here/$name.proxy") &
	proxy=$!
	i=0
	while [ ! -s "$dir/proxy.port" ]; do
		i=$((i + 1))
		if [ $i -gt 100 ] || ! kill -0 "$proxy" 2>/dev/null; then
			echo "the DNS fault proxy did not start" >&2
			exit 1
		fi
		sleep 0.05
	done
	port=$(cat "$dir/proxy.port")
fi

# test-only keys: git does not keep modes, and keys must be private
for k in demo-rsa demo-ed; do
	install -m 0600 "$src/keys/demo/$k.private" "$dir/$k.private"
done
subst() {
	sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$port|g" -e "s|@HERE@|$here|g" "$1"
}
for t in KeyTable SigningTable; do
	[ -f "$here/$t" ] && subst "$here/$t" >"$dir/$t"
done

# the configuration: the base lines, minus those NAME.conf overrides or
# drops ("#drop Option...")
conf=$dir/authmilter.conf
: >"$dir/extra.conf"
[ -f "$here/$name.conf" ] && subst "$here/$name.conf" >"$dir/extra.conf"
drop=$(sed -n 's/^#drop //p' "$dir/extra.conf")
while read -r opt rest; do
	case " $drop " in *" $opt "*) continue ;; esac
	grep -qi "^$opt[[:space:]]" "$dir/extra.conf" ||
		printf '%s %s\n' "$opt" "$rest"
done >"$conf" <<BASE
Socket local:$dir/sock
AuthservID mx.test.example
Domain example.com
Selector demo-rsa
KeyFile $dir/demo-rsa.private
InternalHosts 203.0.113.0/24
Nameservers 127.0.0.1@$port
DNSTimeout 2
LogLevel debug
BASE
cat "$dir/extra.conf" >>"$conf"

# (AUTHMILTER_OOM_CONF: read by the authmilter-oom test build only)
LSAN_OPTIONS=suppressions=$supp AUTHMILTER_OOM_CONF=$conf \
	"$am" run -c "$conf" -f >"$dir/daemon.log" 2>&1 &
pid=$!
i=0
while [ ! -S "$dir/sock" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		cat "$dir/daemon.log" >&2
		echo "authmilter did not start" >&2
		exit 1
	fi
	sleep 0.05
done

cd "$here"
MT_DIR=$dir MT_SOCK=$dir/sock MT_CONF=$conf MT_LOG=$dir/daemon.log \
MT_PID=$pid MT_PORT=$port MT_HERE=$here MT_NSD_PORT=$nsd_port \
MT_PROXY_LOG=$dir/proxy.log MT_AM=$am \
	miltertest -s "$here/$name.lua"
rc=$?
if ! kill -0 "$pid" 2>/dev/null &&
    ! grep -q 'notice: stopped$' "$dir/daemon.log"; then
	echo "authmilter died during the test" >&2
	rc=1
fi
# a clean stop: exit status 0 after SIGTERM, nothing from the sanitizers
# (ASan/UBSan builds) in the log
kill "$pid" 2>/dev/null
wait "$pid"
st=$?
pid=
if [ $st -ne 0 ] || grep -q 'Sanitizer\|runtime error' "$dir/daemon.log"; then
	echo "authmilter did not stop cleanly (status $st)" >&2
	rc=1
fi
if [ $rc -ne 0 ]; then
	echo "--- daemon log" >&2
	cat "$dir/daemon.log" >&2
fi
exit $rc
