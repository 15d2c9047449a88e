#!/bin/sh
# test_rotate.sh -- key rotation end to end with RotatePublish update
# (rotate-lib.sh: Knot primary and secondary accepting TSIG-signed
# updates, Unbound as the resolver, the daemon signing through
# miltertest, dkimpy verifying), the clock advanced with --now:
#   1. from the operator's key op2025 to rotation's RSA and Ed25519 keys
#      (dual signing): generated, published (both servers have the
#      records), held back while the resolver still serves its cached
#      NXDOMAIN, visible, switched after the negative-cache wait (a
#      connection open across the switch keeps signing with op2025, new
#      ones sign with both new keys), the operator's key left alone;
#   2. to the next pair: the first pair's records stay through the
#      overlap (mail signed with them verifies), then go, with their files;
#   3. with RotateReveal: the old records are revoked, then after their
#      TTL carry the private keys (privkey=), the files deleted.
# Mail signed before, during and after each switch verifies with dkimpy.
# Exit 77 (skip) when a component is missing, unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
. "$e2e/rotate-lib.sh"
trap rot_cleanup EXIT

setup_dns || exit 1
write_conf update "RotateKeys rsa-2048, ed25519"
daemon_start || exit 1

# has OUTPUT PATTERN: grep -E on the last run's output
has() {
	grep -Eq -- "$1" "$dir/rot.out"
}
# matches SERVER SELECTOR KEYFILE: keycheck says the record at the
# server is the public half of the key
matches() {
	"$am" keycheck -d rot.test -s "$2" -k "$3" \
		--nameserver "$1@$port" >"$dir/keycheck.out" 2>&1
}
# rotate_to: generate, publish, wait for both servers, check, switch
# (after the negative-cache wait); sets new (the new selectors)
rotate_to() {
	rot >/dev/null
	new=$(selectors next)
	now=$((now + 60)); rot >/dev/null
	for s in $new; do
		wait_txt 127.0.0.2 "$s._domainkey.rot.test" "p=" || return 1
	done
	now=$((now + 60)); rot >/dev/null
	[ "$(phase)" = visible ] || { cat "$dir/rot.out"; return 1; }
	now=$((now + 700)); rot >/dev/null
	[ "$(phase)" = switched ] || { cat "$dir/rot.out"; return 1; }
}

# ---- before ----
out=$(sign before)
check $? "signed before rotation verifies (dkimpy)" "$out"
check "$([ "$out" = "op2025;" ]; echo $?)" "signed with the operator's op2025" \
	"$out"

"$am" rotate -c "$conf" --now "$now" --dry-run >"$dir/rot.out" 2>&1
check "$( has 'would generate 2 new key' && [ ! -s "$dir/state/state" ] &&
	[ -z "$(ls "$dir/keys")" ]; echo $?)" \
	"--dry-run says it would generate and changes nothing" \
	"$(cat "$dir/rot.out")"

# ---- rotation 1: generated ----
rot >/dev/null
sel1=$(selectors next)
day0=$(date -u -d "@$now" +%Y%m%d)
check "$([ "$rc" = 0 ] && [ "$(phase)" = generated ]; echo $?)" \
	"first run: generated" "$(cat "$dir/rot.out")"
check "$([ "$sel1" = "$day0-rsa $day0-ed25519" ]; echo $?)" \
	"date-based selectors, one per key type" "$sel1"
check "$([ "$(stat -c %a "$dir/keys/rot.test/$day0-rsa.private")" = 600 ] &&
	[ -f "$dir/keys/rot.test/$day0-ed25519.txt" ]; echo $?)" \
	"private keys 0600 and the records to publish in keys/rot.test"
check "$([ -z "$(txt 127.0.0.1 "$port" "$day0-rsa._domainkey.rot.test")" ]
	echo $?)" "nothing published yet"
# the world looks before the record exists: the resolver caches NXDOMAIN
drill -p "$rport" @127.0.0.1 "$day0-rsa._domainkey.rot.test" TXT |
	grep -q 'rcode: NXDOMAIN'
check $? "the resolver caches NXDOMAIN for the new name"

# ---- published ----
now=$((now + 60))
rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = published ] && has 'by DNS UPDATE'
	echo $?)" "published by DNS UPDATE" "$(cat "$dir/rot.out")"
for s in $sel1; do
	matches 127.0.0.1 "$s" "$dir/keys/rot.test/$s.private"
	check $? "the primary serves $s, matching its key" \
		"$(cat "$dir/keycheck.out")"
	wait_txt 127.0.0.2 "$s._domainkey.rot.test" "p=" &&
		matches 127.0.0.2 "$s" "$dir/keys/rot.test/$s.private"
	check $? "the secondary got $s (NOTIFY, IXFR)" \
		"$(cat "$dir/keycheck.out")"
done
out=$(sign published)
check "$([ $? = 0 ] && [ "$out" = "op2025;" ]; echo $?)" \
	"still signed with op2025 while published, verifies" "$out"

# ---- the resolver still serves the old answer ----
now=$((now + 60))
rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = published ] &&
	has 'resolver 127.0.0.1@[0-9]+ still serves the old answer .*nxdomain'
	echo $?)" "waits while the resolver serves its cached NXDOMAIN" \
	"$(cat "$dir/rot.out")"

# ---- visible ----
unbound_flush
rot >/dev/null
check "$([ "$(phase)" = visible ] &&
	has 'seen at the 2 name servers of rot.test .* and through the resolver'
	echo $?)" "visible at both servers and the resolver" \
	"$(cat "$dir/rot.out")"
rot >/dev/null
check "$([ "$(phase)" = visible ] && has 'waiting for negative caches'
	echo $?)" "no switch before the SOA MINIMUM (600 s) has passed" \
	"$(cat "$dir/rot.out")"

# ---- switched, with a connection open across it ----
now=$((now + 700))
out=$(RS_HOLD="$am rotate -c $conf --now $now" sign held)
check "$([ $? = 0 ] && [ "$out" = "op2025;op2025;" ]; echo $?)" \
	"a connection open across the switch keeps op2025 (both verify)" "$out"
check "$([ "$(phase)" = switched ] && [ "$(selectors current)" = "$sel1" ] &&
	[ "$(selectors old)" = op2025 ]; echo $?)" \
	"switched: new keys current, op2025 old" "$(cat "$dir/state/state")"
grep -q 'reloaded' "$dir/daemon.log"
check $? "the daemon reloaded on SIGHUP"
out=$(sign switched)
check "$([ $? = 0 ] && [ "$out" = "$day0-rsa $day0-ed25519;" ]; echo $?)" \
	"new mail signed with both new keys, both verify" "$out"
cp "$dir/switched.eml" "$dir/keep1.eml"

# ---- overlap ----
now=$((now + 3 * day))
rot >/dev/null
check "$([ "$(phase)" = switched ] && has 'retiring them at'; echo $?)" \
	"during the overlap: waits" "$(cat "$dir/rot.out")"
now=$((now + 4 * day + 60))
rot >/dev/null
check "$([ "$(phase)" = idle ] && has "the operator's key op2025 no longer signs"
	echo $?)" "after the overlap: idle; the operator is told about op2025" \
	"$(cat "$dir/rot.out")"
check "$([ -n "$(txt 127.0.0.1 "$port" op2025._domainkey.rot.test)" ] &&
	[ -f "$dir/op/op2025.private" ]; echo $?)" \
	"the operator's record and key are left alone"
rot --status >/dev/null
check "$(has "^rot.test: idle .*current $day0-rsa, $day0-ed25519 .*the daemon signs with them.*: rotate"
	echo $?)" "--status: idle, current keys, next rotation" \
	"$(cat "$dir/rot.out")"

# ---- rotation 2: the first pair stays through the overlap ----
now=$((now + 90 * day))
rotate_to
check $? "second rotation: generated, published, visible, switched" \
	"$(cat "$dir/rot.out")"
sel2=$(selectors current)
out=$(sign second)
check "$([ $? = 0 ] && [ "$out" = "$sel2;" ]; echo $?)" \
	"mail signed with the second pair verifies" "$out"
now=$((now + 6 * day))
rot >/dev/null
for s in $sel1; do
	check "$([ -n "$(txt 127.0.0.2 "$port" "$s._domainkey.rot.test")" ]
		echo $?)" "$s still published one day before the overlap ends"
done
/usr/bin/python3 "$src/tests/milter/dkimpy_verify.py" "$port" \
	"$dir/keep1.eml" >/dev/null 2>&1
check $? "mail signed with the first pair still verifies during the overlap"
now=$((now + day + 60))
rot >/dev/null
check "$([ "$(phase)" = idle ] && has "retired $day0-rsa, $day0-ed25519: record removed"
	echo $?)" "after the overlap: the first pair retired" \
	"$(cat "$dir/rot.out")"
for s in $sel1; do
	wait_txt 127.0.0.2 "$s._domainkey.rot.test" -
	check "$([ $? = 0 ] &&
		[ -z "$(txt 127.0.0.1 "$port" "$s._domainkey.rot.test")" ] &&
		[ ! -e "$dir/keys/rot.test/$s.private" ]; echo $?)" \
		"$s: record gone from both servers, private key deleted"
done
/usr/bin/python3 "$src/tests/milter/dkimpy_verify.py" "$port" \
	"$dir/keep1.eml" >/dev/null 2>&1
check "$([ $? != 0 ]; echo $?)" "the first pair's signatures no longer verify"
out=$(sign after)
check "$([ $? = 0 ] && [ "$out" = "$sel2;" ]; echo $?)" \
	"mail after the retirement verifies" "$out"

# ---- rotation 3 with RotateReveal: revoke, then reveal ----
echo "RotateReveal yes" >>"$conf"
now=$((now + 91 * day))
rotate_to
check $? "third rotation switched" "$(cat "$dir/rot.out")"
for s in $sel2; do
	cp "$dir/keys/rot.test/$s.private" "$dir/$s.old"
done
now=$((now + 8 * day))
rot >/dev/null
check "$([ "$(phase)" = retired ] && has 'revoked \(p=\)'; echo $?)" \
	"retired: old records revoked" "$(cat "$dir/rot.out")"
for s in $sel2; do
	v=$(txt 127.0.0.1 "$port" "$s._domainkey.rot.test")
	check "$(echo "$v" | grep -Eq '^v=DKIM1; k=(rsa|ed25519); p=$'; echo $?)" \
		"$s: the record says p= (revoked)" "$v"
done
rot >/dev/null
check "$([ "$(phase)" = retired ] && has 'revealing'; echo $?)" \
	"no reveal before the revoked record's TTL" "$(cat "$dir/rot.out")"
now=$((now + 3601))
for s in $sel2; do
	wait_txt 127.0.0.2 "$s._domainkey.rot.test" 'p=$'
done
rot >/dev/null
check "$([ "$(phase)" = retired ] &&
	has 'resolver .* still serves the old answer .*not the revoked record'
	echo $?)" "no reveal while the resolver still serves the valid record" \
	"$(cat "$dir/rot.out")"
# its TTL (one hour of real time) over
unbound_flush
rot >/dev/null
check "$([ "$(phase)" = idle ] && has 'private key published'; echo $?)" \
	"revealed once the revocation is seen everywhere" "$(cat "$dir/rot.out")"
for s in $sel2; do
	v=$(txt 127.0.0.1 "$port" "$s._domainkey.rot.test")
	want=$(grep -v -- ----- "$dir/$s.old" | tr -d '\n')
	check "$([ "${v#*privkey=}" = "$want" ] &&
		echo "$v" | grep -q '; p=; privkey=' &&
		[ ! -e "$dir/keys/rot.test/$s.private" ]; echo $?)" \
		"$s: its private key is in its record, the file is gone" "$v"
done
out=$(sign last)
check $? "mail after three rotations verifies" "$out"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
