#!/bin/sh
# check_config.sh -- `authmilter check-config`: each broken configuration
# gives a one-line error naming file:line (and the option) and exit
# status 1; a good one gives the one-line summary and 0.
set -u
am=${AUTHMILTER_BUILD_ROOT:?}/src/cli/authmilter
keys=${AUTHMILTER_SOURCE_ROOT:?}/keys/demo
dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-cc.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
install -m 0600 "$keys/demo-rsa.private" "$dir/key.private"
install -m 0644 "$keys/demo-rsa.private" "$dir/open.private"
pass=0
fail=0

# case NAME EXPECTED-STATUS PATTERN CONFIG-TEXT: PATTERN (grep -E) must
# match the output; with status 1 every output line must say file:line
case_() {
	name=$1 want=$2 pattern=$3
	printf '%s' "$4" >"$dir/$name.conf"
	out=$("$am" check-config -c "$dir/$name.conf" 2>&1)
	rc=$?
	ok=1
	[ "$rc" -eq "$want" ] || ok=0
	printf '%s\n' "$out" | grep -Eq -- "$pattern" || ok=0
	if [ "$want" -ne 0 ] && printf '%s\n' "$out" |
	    grep -Ev '^[^ :]+:[0-9]+: ' | grep -q .; then
		ok=0	# a line without file:line
	fi
	if [ $ok = 1 ]; then
		pass=$((pass + 1))
		echo "ok - $name"
	else
		fail=$((fail + 1))
		echo "FAIL - $name (status $rc, wanted $want): $out"
	fi
}

base="Socket local:$dir/sock
Domain example.com
Selector demo-rsa
"
case_ good 0 "^ok: .*1 key, mode sv, socket local:" \
    "${base}KeyFile $dir/key.private
"
case_ unknown_option 1 "unknown_option\.conf:5: NoSuchOption: " \
    "${base}KeyFile $dir/key.private
NoSuchOption yes
"
case_ bad_socket 1 "bad_socket\.conf:1: Socket: " \
    "Socket tcp:nowhere
"
case_ bad_socket_port 1 "bad_socket_port\.conf:1: Socket: " \
    "Socket inet:99999@127.0.0.1
"
# keys named by a KeyTable line: the error names the table and line
ktconf="Socket local:$dir/sock
KeyTable file:$dir/KeyTable
SigningTable refile:$dir/SigningTable
"
printf '*@example.com\tk\n' >"$dir/SigningTable"
printf 'k\texample.com:demo-rsa:%s\n' "$dir/nokey.private" >"$dir/KeyTable"
case_ missing_key 1 "KeyTable:1: .*nokey\.private: No such file" "$ktconf"
printf 'k\texample.com:demo-rsa:%s\n' "$dir/open.private" >"$dir/KeyTable"
case_ world_readable_key 1 "KeyTable:1: .*open\.private: .*group or others" \
    "$ktconf"
printf 'good\texample.com:demo-rsa:%s\nbroken-line-without-value\n' \
    "$dir/key.private" >"$dir/KeyTable"
case_ broken_table 1 "KeyTable:2: " "$ktconf"
# the Domain/Selector/KeyFile shortcut: key errors name the KeyFile line
case_ keyfile_missing 1 "keyfile_missing\.conf:4: KeyFile: .*No such file" \
    "Socket local:$dir/sock
Domain example.com
Selector demo-rsa
KeyFile $dir/nokey.private
"
# problems found after the lines are read name their line too
case_ mode_s_no_keys 1 "mode_s_no_keys\.conf:2: Mode: signing" \
    "Socket local:$dir/sock
Mode s
"
case_ spool_missing 1 "spool_missing\.conf:2: SpoolDir: $dir/nospool: " \
    "Socket local:$dir/sock
SpoolDir $dir/nospool
"
case_ psl_missing 1 "psl_missing\.conf:3: PublicSuffixList: " \
    "Socket local:$dir/sock
OrgDomain psl
PublicSuffixList $dir/nopsl.dat
"
case_ selector_alone 1 "selector_alone\.conf:2: Domain: Domain, Selector" \
    "Socket local:$dir/sock
Selector demo-rsa
"
case_ socket_group_unknown 1 \
    "socket_group_unknown\.conf:2: SocketGroup: .*no such group" \
    "Socket local:$dir/sock
SocketGroup no-such-group-xyz
"
case_ socket_mode_bad 1 "socket_mode_bad\.conf:2: SocketMode: " \
    "Socket local:$dir/sock
SocketMode 0999
"

# started as the UserID user already (systemd User=): runs, nothing to drop
ud=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-uid.XXXXXX")
chmod 777 "$ud"
printf 'Socket local:%s/sock\nMode v\nUserID nobody:nogroup\nSyslog no\n' \
    "$ud" >"$ud/u.conf"
chmod 644 "$ud/u.conf"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$am" run -c "$ud/u.conf" -f >"$ud/log" 2>&1 &
upid=$!
i=0
while [ ! -S "$ud/sock" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
if [ -S "$ud/sock" ] && kill -0 "$upid" 2>/dev/null; then
	pass=$((pass + 1))
	echo "ok - userid_already_dropped"
else
	fail=$((fail + 1))
	echo "FAIL - userid_already_dropped: $(cat "$ud/log")"
fi
kill "$upid" 2>/dev/null
wait "$upid" 2>/dev/null
rm -rf "$ud"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
