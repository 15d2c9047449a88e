#!/bin/sh
# verify_cli.sh AUTHMILTER SOURCE_ROOT -- what `authmilter verify` says
# about its input and its defaults:
#   - an mbox (RFC 4155: "From " separator lines) is refused with exit 2
#     and a message that says so and counts the messages; each message
#     in a file of its own verifies;
#   - without --authserv-id the header names the fully qualified host
#     name (what `hostname --fqdn` prints), the milter's default too
#     (check-config's summary);
#   - every option with a value refuses a bad one, naming the option,
#     with exit 2; --zone with --nameserver, an unknown option and no
#     file are usage errors; --help is not; options of every group
#     (DNS, SMTP facts, policy, evaluation and output) take effect.
set -u
am=$1 top=$2
demo=$top/keys/demo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() {	# check STATUS NAME [DETAIL]
	if [ "$1" -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok - $2"
	else
		failed=$((failed + 1))
		echo "FAIL - $2${3:+: $3}"
	fi
}

# the demo message, signed, twice in an mbox (LF, then CRLF line ends)
install -m 0600 "$demo/demo-rsa.private" "$work/k"
"$am" sign -d example.com -s demo-rsa -k "$work/k" "$demo/message.eml" \
	>"$work/signed.eml" || { echo "FAIL - sign"; exit 1; }
{
	printf 'From alice@example.com Mon Nov 23 12:00:00 2026\n'
	tr -d '\r' <"$work/signed.eml"
	printf '\nFrom alice@example.com Mon Nov 23 12:01:00 2026\n'
	tr -d '\r' <"$work/signed.eml"
} >"$work/two.mbox"
sed 's/$/\r/' "$work/two.mbox" >"$work/two-crlf.mbox"
for f in two.mbox two-crlf.mbox; do
	"$am" verify --zone "$demo/demo.zone" "$work/$f" >"$work/out" \
		2>"$work/err"
	st=$?
	[ $st -eq 2 ] && grep -q "$f: an mbox of 2 messages" "$work/err" &&
		! grep -q '^Authentication-Results' "$work/out"
	check $? "$f refused as an mbox (exit $st)" "$(cat "$work/err")"
done
"$am" verify --zone "$demo/demo.zone" "$work/signed.eml" "$work/signed.eml" \
	>"$work/out" 2>"$work/err"
st=$?
[ $st -eq 0 ] && [ "$(grep -c 'dkim=pass' "$work/out")" -eq 2 ]
check $? "its messages, one per file, verify (exit $st)" "$(cat "$work/out")"

# options: bad values, usage errors, and one run with options of every
# group
for o in "--dns-time-budget 0" "--dns-time-budget 3601" "--ip 300.1.1.1" \
	"--now -5" "--now 12x" "--min-key-bits 511" "--org-domain dns" \
	"--trusted-forwarder 10.0.0.0/99"; do
	set -- $o
	"$am" verify $o "$work/signed.eml" >"$work/out" 2>"$work/err"
	st=$?
	[ $st -eq 2 ] && grep -q -- "$1 \"$2\": invalid value" "$work/err"
	check $? "verify $o refused (exit $st)" "$(cat "$work/err")"
done
# the report commands read --org-domain the same way
for cmd in "report" "report --failures"; do
	"$am" $cmd --org-domain dns --spool "$work" >"$work/out" 2>"$work/err"
	st=$?
	[ $st -ne 0 ] &&
		grep -q -- '--org-domain: want treewalk or psl: "dns"' "$work/err"
	check $? "$cmd --org-domain dns refused (exit $st)" "$(cat "$work/err")"
done
usage_error() {	# usage_error ARGS...: verify ARGS is a usage error
	"$am" verify "$@" >"$work/out" 2>"$work/err"
	st=$?
	[ $st -eq 2 ] && grep -q "^usage: authmilter verify" "$work/err"
	check $? "verify $* is a usage error (exit $st)" "$(cat "$work/err")"
}
usage_error --zone "$demo/demo.zone" --nameserver 127.0.0.1 "$work/signed.eml"
usage_error --no-such-option "$work/signed.eml"
usage_error --zone "$demo/demo.zone"
"$am" verify --help >"$work/out" 2>&1
st=$?
[ $st -eq 0 ] && grep -q "^usage: authmilter verify" "$work/out"
check $? "verify --help (exit $st)"
"$am" verify --zone "$demo/demo.zone" --dns-time-budget 5 --ip 192.0.2.1 \
	--helo mx.example.net --mail-from "<a@example.net>" \
	--rcpt-domain example.org --local --no-required-from \
	--trusted-forwarder 192.0.2.0/24 --org-domain treewalk \
	--now 1795435260 --min-key-bits 1024 --authserv-id groups.example \
	--json "$work/signed.eml" >"$work/out" 2>"$work/err"
st=$?
[ $st -eq 0 ] && grep -q '"authentication_results":" groups.example;' \
	"$work/out" && grep -q 'smtp.mailfrom=example.net' "$work/out" &&
	grep -q 'dkim=pass' "$work/out"
check $? "verify with options of every group (exit $st)" "$(cat "$work/out" "$work/err")"

# the default authserv-id
fqdn=$(hostname --fqdn 2>/dev/null)
if [ -n "$fqdn" ]; then
	"$am" verify --zone "$demo/demo.zone" "$work/signed.eml" \
		>"$work/out" 2>/dev/null
	grep -q "^Authentication-Results: $fqdn;" "$work/out"
	check $? "verify's default authserv-id is $fqdn" "$(head -1 "$work/out")"
	printf 'Socket local:%s/sock\nMode v\n' "$work" >"$work/c.conf"
	"$am" check-config -c "$work/c.conf" >"$work/out" 2>&1
	grep -q "authserv-id $fqdn," "$work/out"
	check $? "the milter's default authserv-id is $fqdn" "$(cat "$work/out")"
else
	check 1 "hostname --fqdn gives nothing to compare with"
fi
# a host whose name is short but listed with its domain in /etc/hosts:
# the default is the qualified name (a private UTS and mount namespace,
# so the machine's own name and hosts file are untouched)
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	printf '127.0.1.1 mx1.authmilter-test.example mx1\n' >"$work/hosts"
	unshare --uts --mount sh -c '
		hostname mx1 && mount --bind "$1/hosts" /etc/hosts || exit 1
		echo "fqdn=$(hostname --fqdn)"
		"$2" verify --zone "$3/demo.zone" "$1/signed.eml" 2>/dev/null
		"$2" check-config -c "$1/c.conf"' sh "$work" "$am" "$demo" \
		>"$work/out" 2>&1
	grep -q '^fqdn=mx1.authmilter-test.example$' "$work/out" &&
	grep -q '^Authentication-Results: mx1.authmilter-test.example;' \
		"$work/out" &&
	grep -q 'authserv-id mx1.authmilter-test.example,' "$work/out"
	check $? "host mx1 listed as mx1.authmilter-test.example: verify and the milter default to the qualified name" "$(cat "$work/out")"
elif [ "${CI:-}" = true ]; then
	check 1 "the qualified-name case needs root and unshare"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
