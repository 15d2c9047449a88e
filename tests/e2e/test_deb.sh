#!/bin/sh
# test_deb.sh -- the Debian package, on this machine: build it with
# packaging/build-deb.sh, install it with dpkg -i, check what a postmaster
# gets (binary, configuration, user, directories, units, man pages, the
# socket in Postfix's chroot), then purge it and check that the keys and
# the spool stay and the rest is gone.
#
# It installs and purges a system package: it needs root, and it refuses
# to touch an authmilter package that was installed before it ran. In
# either case, and when a tool is missing, it exits 77 (skip), or fails
# when CI=true. It leaves the machine as it found it (user included).
set -u
top=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}

failed=0
pass() { echo "ok: $*"; }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
check() {	# description, then a command that must succeed; its output
	what=$1	# is shown only when it fails
	shift
	if "$@" >"$work/check.out" 2>&1; then
		pass "$what"
	else
		cat "$work/check.out"
		fail "$what"
	fi
}
unavailable() {
	echo "test_deb: $*"
	[ "${CI:-}" = true ] && exit 1
	exit 77
}

[ "$(id -u)" = 0 ] || unavailable "needs root (dpkg -i)"
for tool in dpkg-buildpackage dh mandoc groff man runuser setpriv \
    /usr/bin/python3; do
	command -v "$tool" >/dev/null 2>&1 || unavailable "$tool is missing"
done
if dpkg-query -W -f '${Status}' authmilter 2>/dev/null | grep -q 'ok installed'
then
	unavailable "an authmilter package is installed already: not touching it"
fi
user_existed=no
getent passwd authmilter >/dev/null && user_existed=yes

work=$(mktemp -d)
daemon=
cleanup() {
	[ -n "$daemon" ] && kill "$daemon" 2>/dev/null
	# anything but "not-installed" (dpkg keeps that record after a
	# purge): installed, or left half-way by a failed dpkg -i
	case $(dpkg-query -W -f '${Status}' authmilter 2>/dev/null) in
	"" | *not-installed) ;;
	*) dpkg --purge authmilter >/dev/null 2>&1 ;;
	esac
	rm -f /etc/authmilter/keys/test-deb.private \
	    /var/lib/authmilter/2000-01-01.test-deb.jsonl
	rmdir /etc/authmilter/keys /etc/authmilter /var/lib/authmilter \
	    2>/dev/null
	if [ "$user_existed" = no ] && getent passwd authmilter >/dev/null
	then
		userdel authmilter 2>/dev/null
		getent group authmilter >/dev/null && groupdel authmilter
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- build and install ----
echo "building the package (packaging/build-deb.sh)"
deb=$(sh "$top/packaging/build-deb.sh" "$work/out") || {
	echo "FAIL: build-deb.sh"
	exit 1
}
pass "build-deb.sh built $(basename "$deb")"
if ! dpkg -i "$deb" >"$work/dpkg.log" 2>&1; then
	cat "$work/dpkg.log"
	echo "FAIL: dpkg -i"
	exit 1
fi
pass "dpkg -i"

# ---- the binary ----
version=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" \
	"$top/meson.build" | head -n 1)
check "/usr/sbin/authmilter version says $version" \
	test "$(/usr/sbin/authmilter version)" = "authmilter $version"

# ---- configuration ----
for f in authmilter.conf KeyTable SigningTable TrustedHosts; do
	check "/etc/authmilter/$f is a conffile" \
		grep -qx "/etc/authmilter/$f" /var/lib/dpkg/info/authmilter.conffiles
	check "/etc/authmilter/$f installed" test -f "/etc/authmilter/$f"
done
conf=/etc/authmilter/authmilter.conf
if /usr/sbin/authmilter check-config --help >/dev/null 2>&1; then
	check "check-config accepts the packaged configuration (root)" \
		/usr/sbin/authmilter check-config -c "$conf"
	check "check-config accepts it as user authmilter" \
		runuser -u authmilter -- /usr/sbin/authmilter check-config \
		-c "$conf"
else
	echo "note: this build has no check-config subcommand yet;" \
		"checked that the binary lists its subcommands instead"
	check "authmilter --help" /usr/sbin/authmilter --help
fi

# ---- user and directories ----
check "user authmilter exists" getent passwd authmilter
check "group authmilter exists" getent group authmilter
check "user authmilter cannot log in" \
	test "$(getent passwd authmilter | cut -d: -f7)" = /usr/sbin/nologin
sockgroup=authmilter
getent group postfix >/dev/null && sockgroup=postfix
mode() { stat -c '%U:%G %a' "$1"; }
check "/etc/authmilter/keys authmilter:authmilter 700" \
	test "$(mode /etc/authmilter/keys)" = "authmilter:authmilter 700"
check "/var/lib/authmilter authmilter:authmilter 750" \
	test "$(mode /var/lib/authmilter)" = "authmilter:authmilter 750"
check "/var/lib/authmilter/rotate authmilter:authmilter 750" \
	test "$(mode /var/lib/authmilter/rotate)" = "authmilter:authmilter 750"
check "/var/spool/postfix/authmilter authmilter:$sockgroup 2750" \
	test "$(mode /var/spool/postfix/authmilter)" = \
	"authmilter:$sockgroup 2750"

# ---- the daemon's socket in the chroot, reachable by Postfix ----
connect() {	# user, socket: connect as that user
	runuser -u "$1" -- /usr/bin/python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$2" 2>/dev/null
}
sock=/var/spool/postfix/authmilter/authmilter.sock
if /usr/sbin/authmilter run --help >/dev/null 2>&1 &&
    [ "$sockgroup" = postfix ]; then
	# setpriv execs (runuser would stay as the parent of the daemon)
	setpriv --reuid=authmilter --regid=authmilter --init-groups \
		/usr/sbin/authmilter run -f -c "$conf" >"$work/run.log" 2>&1 &
	daemon=$!
	i=0
	while [ ! -S "$sock" ] && [ $i -lt 50 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	check "the daemon (as authmilter) made its socket" test -S "$sock"
	check "the socket is authmilter:postfix 660 (SocketMode)" \
		test "$(mode "$sock")" = "authmilter:postfix 660"
	check "user postfix can connect to it" connect postfix "$sock"
	check "user nobody cannot" eval '! connect nobody "$sock"'
	check "no start-up warning (socket reachable, not root)" \
		eval '! grep -q "warning:" "$work/run.log"'
	kill -TERM "$daemon"
	wait "$daemon"
	status=$?
	[ "$status" = 0 ] || cat "$work/run.log"
	check "the daemon stops on SIGTERM with status 0" test "$status" = 0
	daemon=
else
	echo "note: no run subcommand or no postfix group: socket not checked"
fi

# ---- the metrics listener inside the unit's sandbox ----
# The daemon as user authmilter with MetricsListen on loopback, traced:
# it serves /metrics, and every system call it makes (start-up, the
# milter, the listener, scrapes) is one the unit's SystemCallFilter
# lines allow, and every socket family one RestrictAddressFamilies
# allows. (No running systemd here: the unit's filter is applied by
# hand, expanded with systemd-analyze syscall-filter.)
unit=/lib/systemd/system/authmilter.service
# expand SET...: the system calls of the sets, groups resolved
expand() {
	for x in "$@"; do
		systemd-analyze syscall-filter "$x" 2>/dev/null |
		    sed -n 's/^    //p' | grep -v '^#' | while read -r y; do
			case $y in
			@*) expand "$y" ;;
			*) echo "$y" ;;
			esac
		done
	done
}
if command -v strace >/dev/null && command -v systemd-analyze >/dev/null &&
    /usr/sbin/authmilter run --help >/dev/null 2>&1 &&
    [ "$sockgroup" = postfix ]; then
	mdir=$(mktemp -d /tmp/authmilter-deb-metrics.XXXXXX)
	chown authmilter "$mdir"
	mport=$(sh "$(dirname "$0")/free-port.sh")
	{ cat "$conf"; echo "MetricsListen 127.0.0.1:$mport"; } >"$mdir/conf"
	chmod 644 "$mdir/conf"
	setpriv --reuid=authmilter --regid=authmilter --init-groups \
		strace -f -qq -o "$mdir/trace" \
		/usr/sbin/authmilter run -f -c "$mdir/conf" >"$mdir/log" 2>&1 &
	daemon=$!
	i=0
	until grep -q ' started: ' "$mdir/log" || [ $i -ge 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	client=$(dirname "$0")/metrics_client.py
	/usr/bin/python3 "$client" get "127.0.0.1:$mport" /metrics \
		>"$mdir/scrape"
	check "as authmilter, the listener serves /metrics" test \
		"$(head -1 "$mdir/scrape")" = 200
	/usr/bin/python3 "$client" repeat "127.0.0.1:$mport" 3 >/dev/null
	# strace with -o blocks SIGTERM: the daemon under it gets it, and
	# strace ends with it
	kill -TERM $(pgrep -P "$daemon") "$daemon" 2>/dev/null
	wait "$daemon"
	daemon=
	sed -n 's/^[0-9]* *\([a-z_0-9]*\)(.*/\1/p' "$mdir/trace" | sort -u \
		>"$mdir/calls"
	expand $(sed -n 's/^SystemCallFilter=\([^~].*\)/\1/p' "$unit") |
		sort -u >"$mdir/allowed"
	expand $(sed -n 's/^SystemCallFilter=~\(.*\)/\1/p' "$unit") |
		sort -u >"$mdir/denied"
	bad=$( (comm -23 "$mdir/calls" "$mdir/allowed"
		comm -12 "$mdir/calls" "$mdir/denied") | sort -u | tr '\n' ' ')
	check "every system call of the daemon with the listener passes the unit's SystemCallFilter ($(wc -l <"$mdir/calls") calls)" \
		test -z "$bad" -a -s "$mdir/calls"
	[ -n "$bad" ] && echo "blocked: $bad"
	fams=$(sed -n 's/.*socket(\(AF_[A-Z0-9]*\).*/\1/p' "$mdir/trace" |
		sort -u | tr '\n' ' ')
	allowed=" $(sed -n 's/^RestrictAddressFamilies=//p' "$unit") "
	ok=0
	for f in $fams; do
		case $allowed in *" $f "*) ;; *) ok=1 ;; esac
	done
	check "its socket families ($fams) pass RestrictAddressFamilies" \
		test $ok = 0
	rm -rf "$mdir"
else
	[ "${CI:-}" = true ] && fail "strace or systemd-analyze is missing"
	echo "note: the listener's system calls not checked"
fi

# ---- systemd units ----
for u in authmilter.service authmilter-report.service \
    authmilter-report.timer authmilter-failure-reports.service \
    authmilter-failure-reports.timer authmilter-rotate.service \
    authmilter-rotate.timer; do
	check "unit $u installed" test -f "/lib/systemd/system/$u"
done
check "authmilter.service enabled (deb-systemd-helper)" \
	test -L /etc/systemd/system/multi-user.target.wants/authmilter.service
check "authmilter-report.timer enabled" \
	test -L /etc/systemd/system/timers.target.wants/authmilter-report.timer
check "authmilter-failure-reports.timer enabled" \
	test -L /etc/systemd/system/timers.target.wants/authmilter-failure-reports.timer
check "authmilter-rotate.timer enabled" \
	test -L /etc/systemd/system/timers.target.wants/authmilter-rotate.timer
# the packaged configuration has rotation off: the service's condition
# says so, and rotate itself agrees
cond=$(sed -n "s/^ExecCondition=\/bin\/sh -c '\(.*\)'\$/\1/p" \
	/lib/systemd/system/authmilter-rotate.service)
check "authmilter-rotate.service has its condition" test -n "$cond"
check "authmilter-rotate.service skips while RotateDomains is unset" \
	eval '! sh -c "$cond"'
check "authmilter rotate: rotation is off in the packaged configuration" \
	sh -c "runuser -u authmilter -- /usr/sbin/authmilter rotate \
	-c $conf | grep -q 'rotation is off'"
if command -v systemd-analyze >/dev/null 2>&1; then
	# offline: it parses the units, checks the commands and runs man on
	# Documentation=; no running systemd needed
	for u in authmilter.service authmilter-report.service \
	    authmilter-report.timer authmilter-failure-reports.service \
	    authmilter-failure-reports.timer authmilter-rotate.service \
	    authmilter-rotate.timer; do
		if systemd-analyze verify "/lib/systemd/system/$u" \
		    >"$work/verify.log" 2>&1 && [ ! -s "$work/verify.log" ]
		then
			pass "systemd-analyze verify $u"
		else
			cat "$work/verify.log"
			fail "systemd-analyze verify $u"
		fi
	done
else
	[ "${CI:-}" = true ] && fail "systemd-analyze is missing"
	echo "note: no systemd-analyze: units not verified"
fi

# ---- man pages ----
for page in man8/authmilter.8 man5/authmilter.conf.5; do
	f=/usr/share/man/$page.gz
	check "$page installed" test -f "$f"
	MANWIDTH=80 man -l "$f" >"$work/man.out" 2>"$work/man.err"
	if [ $? = 0 ] && [ ! -s "$work/man.err" ] &&
	    [ -s "$work/man.out" ]; then
		pass "man -l $page renders without a warning"
	else
		cat "$work/man.err"
		fail "man -l $page"
	fi
	# the copy keeps the section suffix: mandoc checks it against .Dt
	# (and would read one from a temporary directory's name otherwise)
	lint="$work/page.${page##*.}"
	zcat "$f" >"$lint"
	check "groff -ww $page is silent" \
		sh -c "groff -ww -mandoc -z '$lint' 2>&1 | grep . && exit 1 || exit 0"
	# style notes about pages absent from the mandoc database, which
	# makewhatis has not indexed, are not about the page
	mandoc -T lint -W style "$lint" 2>&1 |
		grep -v -e 'referenced manual not found' \
		-e 'outdated mandoc.db' >"$work/lint" || true
	if [ -s "$work/lint" ]; then
		cat "$work/lint"
		fail "mandoc -T lint $page"
	else
		pass "mandoc -T lint $page is clean"
	fi
done
check "man finds authmilter.conf(5)" man -w 5 authmilter.conf

# ---- purge ----
echo "test-only key file" >/etc/authmilter/keys/test-deb.private
echo '{"test":true}' >/var/lib/authmilter/2000-01-01.test-deb.jsonl
if dpkg --purge authmilter >"$work/purge.log" 2>&1; then
	pass "dpkg --purge"
else
	cat "$work/purge.log"
	fail "dpkg --purge"
fi
check "purge removed the binary" test ! -e /usr/sbin/authmilter
check "purge removed authmilter.conf" test ! -e "$conf"
check "purge removed the example tables" \
	test ! -e /etc/authmilter/KeyTable -a ! -e /etc/authmilter/TrustedHosts
check "purge removed the socket directory" \
	test ! -e /var/spool/postfix/authmilter
check "purge removed the units" \
	test ! -e /lib/systemd/system/authmilter.service
check "purge kept the keys" test -f /etc/authmilter/keys/test-deb.private
check "purge kept the spool" \
	test -f /var/lib/authmilter/2000-01-01.test-deb.jsonl

echo "$failed failed"
[ "$failed" = 0 ]
