#!/bin/sh
# test_nosystemd.sh -- README.md's "Running without systemd", as written.
#
# The section's code blocks are taken from the README and run in order,
# with three paths moved into a private directory (/etc/authmilter,
# /var/spool/postfix, which becomes a private Postfix's queue directory,
# and /run/authmilter) and `authmilter` meaning the build's binary;
# everything else runs word for word, as root (user authmilter is made by
# the README's own line when missing, and removed again at the end if this
# test made it). Before, the README's signing recipe ("To sign") makes a
# key for example.com and the packaged configuration and tables are
# installed. Checks:
#   - the packaged authmilter.conf holds the section's configuration
#     lines (commented out or not);
#   - the daemon started by the section's command runs as authmilter, has
#     written its PID file, gives Postfix's group the socket (660), and
#     warns about nothing; without a syslog daemon it logs to stderr;
#   - mail from an internal client through Postfix (smtpd_milters =
#     unix:authmilter/authmilter.sock, as in the README) comes out signed,
#     and the signature verifies against the record keygen wrote;
#   - kill -TERM of the PID file's process stops it and removes the file;
#   - with the socket group wrong (SocketGroup authmilter, the issue of
#     an earlier README), the start-up warning says Postfix cannot connect
#     and mail then passes unsigned; without UserID, the root warning.
# Needs root, Postfix, adduser. Exit 77 when something is missing, unless
# CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
[ "$(id -u)" = 0 ] || unavailable "needs root (Postfix, a system user)"
for tool in postfix smtp-sink bash adduser userdel install; do
	need "$tool"
done
getent group postfix >/dev/null || unavailable "no group postfix"
# in the sanitizer build: libmilter's unjoined worker threads leave
# libcrypto's per-thread state at exit (tests/milter/lsan.supp says why)
export LSAN_OPTIONS="suppressions=$AUTHMILTER_SOURCE_ROOT/tests/milter/lsan.supp"

root=$(mktemp -d /var/tmp/authmilter-nosd.XXXXXX)
chmod 755 "$root"
user_existed=no
getent passwd authmilter >/dev/null && user_existed=yes
mpid=
cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	bash "$e2e/postfix-instance.sh" stop "$root/pf" >/dev/null 2>&1
	if [ "$user_existed" = no ] && getent passwd authmilter >/dev/null
	then
		userdel authmilter 2>/dev/null
		getent group authmilter >/dev/null && groupdel authmilter
	fi
	if [ "${KEEP:-}" = 1 ]; then echo "kept $root" >&2; else rm -rf "$root"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# block SECTION N: the N-th fenced code block of the README section whose
# title is SECTION, paths moved into $root
block() {
	awk -v want="## $1" -v n="$2" '
	/^## / { in_sec = ($0 == want); next }
	!in_sec { next }
	/^```/ { if (fence) { fence = 0 } else { fence = 1; k++ }; next }
	fence && k == n { print }' "$src/README.md" |
	sed -e "s|/etc/authmilter|$root/etc/authmilter|g" \
	    -e "s|/var/spool/postfix|$root/pf/queue|g" \
	    -e "s|/run/authmilter|$root/run/authmilter|g" \
	    -e "s|^authmilter |\"\$am\" |"
}
setup=$(block "Running without systemd" 1)
conf_lines=$(block "Running without systemd" 2)
start=$(block "Running without systemd" 3)
keygen=$(block "Building and installing" 2)
checkconf=$(block "Building and installing" 3 | grep -v '^systemctl ')
for b in setup conf_lines start keygen checkconf; do
	eval "[ -n \"\$$b\" ]" || { echo "README: no block for $b" >&2; exit 1; }
done

# the package's files, as dpkg would install them
mkdir -p "$root/etc/authmilter/keys"
for f in authmilter.conf KeyTable SigningTable TrustedHosts; do
	sed -e "s|/etc/authmilter|$root/etc/authmilter|g" \
	    -e "s|/var/spool/postfix|$root/pf/queue|g" \
	    -e "s|/run/authmilter|$root/run/authmilter|g" \
	    "$src/packaging/$f" >"$root/etc/authmilter/$f"
done
conf=$root/etc/authmilter/authmilter.conf

# the README's setup block, as root
(set -e; eval "$setup") >"$root/setup.log" 2>&1
check $? "the README's setup block runs" "$(cat "$root/setup.log")"
getent passwd authmilter >/dev/null
check $? "user authmilter exists"

# the README's signing recipe: keygen, the printed lines into the
# tables, Mode sv, check-config
(set -e; eval "$keygen") >"$root/keygen.log" 2>&1
check $? "the README's keygen block runs" "$(cat "$root/keygen.log")"
sed -n '/^Add to the KeyTable:/{n;s/^  //p}' "$root/keygen.log" \
	>>"$root/etc/authmilter/KeyTable"
sed -n '/^Add to the SigningTable/{n;s/^  //p}' "$root/keygen.log" \
	>>"$root/etc/authmilter/SigningTable"
sed -i 's/^Mode[[:space:]].*/Mode sv/' "$conf"

# set NAME VALUE in the config: its line (commented out or not) becomes
# "NAME VALUE"; 1 when the file had no such line
set_option() {
	grep -Eq "^#?$1[[:space:]]" "$conf" || return 1
	sed -i -E "s|^#?$1[[:space:]].*|$1 $2|" "$conf"
}
missing=
while read -r name value; do
	[ -n "$name" ] || continue
	set_option "$name" "$value" || missing="$missing $name"
done <<EOF
$conf_lines
EOF
[ -z "$missing" ]
check $? "the packaged authmilter.conf has the section's lines" \
	"missing:$missing"
(set -e; eval "$checkconf") >"$root/check.log" 2>&1
check $? "check-config accepts the result" "$(cat "$root/check.log")"

# a private Postfix whose queue directory is the section's
# /var/spool/postfix, with the README's milter line
smtp=$(sh "$e2e/free-port.sh")
sink=$(sh "$e2e/free-port.sh")
bash "$e2e/postfix-instance.sh" start "$root/pf" "$smtp" "$sink" \
	unix:authmilter/authmilter.sock >"$root/pf.log" 2>&1 ||
	{ cat "$root/pf.log" >&2; exit 1; }

sock=$root/pf/queue/authmilter/authmilter.sock
pidfile=$root/run/authmilter/authmilter.pid
# does a syslog daemon listen (then the log goes there, and only the
# warnings also to standard error)?
syslog=no
/usr/bin/python3 -c 'import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.connect("/dev/log")' 2>/dev/null && syslog=yes

# start_daemon: the section's command, in the background (its stderr and
# stdout to $root/daemon.log); waits for the socket and the PID file
start_daemon() {
	rm -f "$root/daemon.log"
	eval "$start &" >"$root/daemon.log" 2>&1
	mpid=$!
	i=0
	while [ ! -S "$sock" ] || [ ! -s "$pidfile" ] || { [ $syslog = no ] &&
	    ! grep -q ' started: ' "$root/daemon.log" 2>/dev/null; }; do
		kill -0 "$mpid" 2>/dev/null || return 1
		i=$((i + 1))
		[ $i -lt 200 ] || return 1
		sleep 0.05
	done
	# with syslog the "started" line is not here: let it switch user
	[ $syslog = no ] || sleep 0.5
}
stop_daemon() {
	kill -TERM "$(cat "$pidfile")" 2>/dev/null
	wait "$mpid"
	st=$?
	mpid=
	return $st
}

# msg NAME: a message from user@example.com, X-Test: NAME
msg() {
	printf 'From: User <user@example.com>\r\nTo: rcpt@example.net\r\n'
	printf 'Subject: %s\r\nX-Test: %s\r\nMessage-ID: <%s@example.com>\r\n' \
		"$1" "$1" "$1"
	printf '\r\nSent through the README setup.\r\n'
}
# send NAME: from 127.0.0.1 (the packaged TrustedHosts); the delivered
# copy goes to $root/NAME.out (waits up to 20 s)
send() {
	msg "$1" >"$root/$1.eml"
	/usr/bin/python3 "$e2e/smtp_send.py" "$smtp" 127.0.0.1 \
		user@example.com rcpt@example.net "$root/$1.eml" >/dev/null ||
		return 1
	f=$(sink_file "$root/pf" "$1") || return 1
	sed -e '1,/^X-Rcpt-Args:/d' "$f" >"$root/$1.out"
}

# ---- as the README says ----
start_daemon
check $? "the daemon starts as the README says" "$(cat "$root/daemon.log")"
[ "$(ps -o uid= -p "$mpid" 2>/dev/null | tr -d ' ')" = "$(id -u authmilter)" ]
check $? "it runs as authmilter" "uid $(ps -o uid= -p "$mpid")"
[ "$(cat "$pidfile" 2>/dev/null)" = "$mpid" ]
check $? "its PID file holds its pid"
[ "$(stat -c '%U:%G %a' "$sock" 2>/dev/null)" = "authmilter:postfix 660" ]
check $? "the socket is authmilter:postfix 660" "$(stat -c '%U:%G %a' "$sock")"
! grep -q 'warning' "$root/daemon.log"
check $? "no start-up warning" "$(grep warning "$root/daemon.log")"
if [ $syslog = no ]; then
	grep -q 'no syslog daemon listens on /dev/log: logging to standard error' \
		"$root/daemon.log"
	check $? "no /dev/log: the log goes to standard error"
fi
send signed
check $? "a message through Postfix is delivered"
sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$root/signed.out" |
	grep -q 'd=example.com;'
check $? "it is signed (d=example.com)"
cat "$root"/etc/authmilter/keys/example.com/*.txt >"$root/keys.zone"
"$am" verify --zone "$root/keys.zone" "$root/signed.out" >"$root/verify.out" \
	2>&1
grep -q 'dkim=pass header.d=example.com' "$root/verify.out"
check $? "the signature verifies with the record keygen wrote" \
	"$(cat "$root/verify.out")"
stop_daemon
check $? "kill -TERM \$(cat PidFile) stops it (status 0)"
[ ! -e "$pidfile" ]
check $? "the PID file is gone"

# ---- the socket group wrong: given to the daemon's own group ----
set_option SocketGroup authmilter
start_daemon
check $? "the daemon starts with SocketGroup authmilter"
grep -q "Socket $sock: the MTA (group postfix) CANNOT CONNECT" \
	"$root/daemon.log"
check $? "the start-up warning says Postfix cannot connect" \
	"$(cat "$root/daemon.log")"
send unsigned
check $? "Postfix still delivers (milter_default_action = accept)"
! grep -qi '^DKIM-Signature:' "$root/unsigned.out"
check $? "... unsigned, as the warning said"
stop_daemon
set_option SocketGroup postfix

# ---- started as root without UserID ----
sed -i 's/^UserID[[:space:]].*/#&/' "$conf"
start_daemon
check $? "the daemon starts without UserID"
grep -q 'warning: running as root (no UserID)' "$root/daemon.log"
check $? "it warns that it runs as root" "$(cat "$root/daemon.log")"
stop_daemon

if [ $fail -ne 0 ]; then
	echo "--- $conf" >&2
	grep -v '^#' "$conf" | grep . >&2
	echo "--- postfix log" >&2
	tail -20 "$root/pf/maillog" >&2
fi
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
