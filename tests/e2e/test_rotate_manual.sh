#!/bin/sh
# test_rotate_manual.sh -- key rotation with RotatePublish manual: rotate
# prints the record to publish and waits at "published" (run after run)
# until the test, playing the operator with a web form, adds it to the
# zone with knotc; then it proceeds and switches. At the next rotation's
# retirement it prints the old record to remove and waits until the test
# has removed it. Mail verifies with dkimpy before and after the switch.
# Exit 77 (skip) when a component is missing, unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
. "$e2e/rotate-lib.sh"
trap rot_cleanup EXIT

setup_dns || exit 1
write_conf manual
daemon_start || exit 1

has() {
	grep -Eq -- "$1" "$dir/rot.out"
}
# publish SELECTOR: add the record of keys/rot.test/SELECTOR.txt to the
# primary, as the operator would, and wait for the secondary
publish() {
	knotc_set "$1._domainkey.rot.test" \
		"$(grep -o '"[^"]*"' "$dir/keys/rot.test/$1.txt" | tr '\n' ' ')" &&
	wait_txt 127.0.0.2 "$1._domainkey.rot.test" "p="
}

out=$(sign before)
check "$([ $? = 0 ] && [ "$out" = "op2025;" ]; echo $?)" \
	"signed with op2025 before rotation, verifies" "$out"

rot >/dev/null
sel=$(selectors next)
now=$((now + 60))
rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = published ] &&
	has "^$sel._domainkey.rot.test. 3600 IN TXT \\( \"v=DKIM1; k=rsa; \"" &&
	has 'publish the record\(s\) below in the zone of rot.test'
	echo $?)" "manual: the record to publish is printed" \
	"$(cat "$dir/rot.out")"
check "$([ -z "$(txt 127.0.0.1 "$port" "$sel._domainkey.rot.test")" ]
	echo $?)" "nothing was sent to the server"

for i in 1 2; do
	now=$((now + 3600))
	rot >/dev/null
	check "$([ "$rc" = 0 ] && [ "$(phase)" = published ] &&
		has "waiting until visible: ns[12].rot.test .*no record yet"
		echo $?)" "run $i: waits at published, saying what is missing" \
		"$(cat "$dir/rot.out")"
done
out=$(sign waiting)
check "$([ $? = 0 ] && [ "$out" = "op2025;" ]; echo $?)" \
	"op2025 keeps signing while it waits" "$out"

publish "$sel"
check $? "the operator publishes the record (knotc)"
now=$((now + 60))
rot >/dev/null
check "$([ "$(phase)" = visible ]; echo $?)" \
	"then it is visible" "$(cat "$dir/rot.out")"
now=$((now + 700))
rot >/dev/null
check "$([ "$(phase)" = switched ] && has 'the daemon signs with them'
	echo $?)" "and switches" "$(cat "$dir/rot.out")"
out=$(sign switched)
check "$([ $? = 0 ] && [ "$out" = "$sel;" ]; echo $?)" \
	"new mail signed with $sel verifies" "$out"

# the overlap, then the second rotation, then its retirement
now=$((now + 8 * day))
rot >/dev/null
check "$([ "$(phase)" = idle ]; echo $?)" "retired op2025 (the operator's)" \
	"$(cat "$dir/rot.out")"
now=$((now + 90 * day))
rot >/dev/null
sel2=$(selectors next)
now=$((now + 60))
rot >/dev/null
publish "$sel2"
now=$((now + 60))
rot >/dev/null
now=$((now + 700))
rot >/dev/null
check "$([ "$(phase)" = switched ] && [ "$(selectors current)" = "$sel2" ]
	echo $?)" "second rotation switched to $sel2" "$(cat "$dir/rot.out")"
now=$((now + 8 * day))
rot >/dev/null
check "$([ "$(phase)" = switched ] &&
	has "^$sel._domainkey.rot.test. TXT ; remove this record" &&
	has "overlap over: remove the old record"; echo $?)" \
	"manual retirement: asks for the old record's removal and waits" \
	"$(cat "$dir/rot.out")"
check "$([ -f "$dir/keys/rot.test/$sel.private" ]; echo $?)" \
	"the old key stays until its record is gone"
knotc_unset "$sel._domainkey.rot.test" &&
	wait_txt 127.0.0.2 "$sel._domainkey.rot.test" -
check $? "the operator removes it"
now=$((now + 60))
rot >/dev/null
check "$([ "$(phase)" = idle ] && has "retired $sel: record removed" &&
	[ ! -e "$dir/keys/rot.test/$sel.private" ]; echo $?)" \
	"then it is retired and its private key deleted" "$(cat "$dir/rot.out")"
out=$(sign after)
check "$([ $? = 0 ] && [ "$out" = "$sel2;" ]; echo $?)" \
	"mail after the second rotation verifies" "$out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
