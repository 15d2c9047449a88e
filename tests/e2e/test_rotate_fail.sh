#!/bin/sh
# test_rotate_fail.sh -- what key rotation does when something is wrong.
# Each failure stops the rotation with a clear message, leaves the state
# file as it was, and the current key keeps signing (mail verifies with
# dkimpy):
#   - check-config: a TSIG key file others can read, update without a key;
#   - update refused: a wrong TSIG secret (BADSIG), an unknown key name
#     (BADKEY);
#   - the primary down (no answer);
#   - the new name holding another key, then a revoked record, at the
#     authoritative servers (an error);
#   - the resolver still serving the old (revoked) answer from its cache
#     (a wait, not an error);
#   - the daemon down at the switch, and a daemon whose reload fails: no
#     confirmation, so no retirement, however long the wait.
# Exit 77 (skip) when a component is missing, unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
. "$e2e/rotate-lib.sh"
trap rot_cleanup EXIT

setup_dns || exit 1
write_conf update
daemon_start || exit 1

has() {
	grep -Eq -- "$1" "$dir/rot.out"
}
# unchanged: the state file is what it was when saved with "keep"
keep() {
	cp "$dir/state/state" "$dir/state.kept"
}
unchanged() {
	cmp -s "$dir/state/state" "$dir/state.kept"
}
# still_op2025 NAME: the daemon signs with op2025 and it verifies
still_op2025() {
	out=$(sign "$1")
	check "$([ $? = 0 ] && [ "$out" = "op2025;" ]; echo $?)" \
		"$2: op2025 keeps signing, mail verifies" "$out"
}

# ---- check-config ----
chmod 644 "$dir/tsig.key"
"$am" check-config -c "$conf" >"$dir/cc.out" 2>&1
check "$([ $? = 1 ] &&
	grep -q 'RotateTSIGKey: .*tsig.key: key file is accessible by group or others' \
	"$dir/cc.out"; echo $?)" "check-config: a TSIG key others can read" \
	"$(cat "$dir/cc.out")"
chmod 600 "$dir/tsig.key"
"$am" check-config -c "$conf" >"$dir/cc.out" 2>&1
check "$([ $? = 0 ] && grep -q '^ok: key rotation for 1 domain, published by DNS UPDATE' \
	"$dir/cc.out"; echo $?)" \
	"check-config: the configuration with rotation is good, and says so" \
	"$(cat "$dir/cc.out")"
grep -v RotateTSIGKey "$conf" >"$dir/nokey.conf"
"$am" check-config -c "$dir/nokey.conf" >"$dir/cc.out" 2>&1
check "$([ $? = 1 ] && grep -q 'RotatePublish: update needs RotateTSIGKey' \
	"$dir/cc.out"; echo $?)" "check-config: update without a TSIG key" \
	"$(cat "$dir/cc.out")"

rot >/dev/null
sel=$(selectors next)
name=$sel._domainkey.rot.test
check "$([ "$(phase)" = generated ]; echo $?)" "generated $sel"
now=$((now + 60))

# ---- update refused ----
cp "$dir/tsig.key" "$dir/tsig.good"
printf 'key "%s" { algorithm hmac-sha256; secret "%s"; };\n' "$keyname" \
	"$(head -c 32 /dev/urandom | base64)" >"$dir/tsig.key"
keep
rot >/dev/null
check "$([ "$rc" = 1 ] &&
	has "^rot.test: generated: error: cannot publish $sel: 127.0.0.1@$port refused the update: NOTAUTH, BADSIG" &&
	has 'nothing changed, the current keys keep signing' && unchanged
	echo $?)" "a wrong TSIG secret: refused (BADSIG), nothing changed" \
	"$(cat "$dir/rot.out")"
printf 'hmac-sha256:nobody-knows:%s\n' "$(head -c 32 /dev/urandom | base64)" \
	>"$dir/tsig.key"
rot >/dev/null
check "$([ "$rc" = 1 ] && has 'refused the update: NOTAUTH, BADKEY' &&
	unchanged; echo $?)" "an unknown TSIG key: refused (BADKEY)" \
	"$(cat "$dir/rot.out")"
check "$([ -z "$(txt 127.0.0.1 "$port" "$name")" ]; echo $?)" \
	"nothing was published"
still_op2025 refused "update refused"
cp "$dir/tsig.good" "$dir/tsig.key"

# ---- the primary down ----
knot_stop "$dir/p"
rot >/dev/null
check "$([ "$rc" = 1 ] &&
	has "error: cannot publish $sel: no answer from 127.0.0.1@$port: server down or unreachable" &&
	unchanged; echo $?)" "the primary down: an error, nothing changed" \
	"$(cat "$dir/rot.out")"
out=$(NOVERIFY=1 sign down)
knot_start "$dir/p" 127.0.0.1
check $? "the primary back"
verify down
check "$([ $? = 0 ] && [ "$out" = "op2025;" ]; echo $?)" \
	"primary down: op2025 kept signing, mail verifies" "$out"

rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = published ]; echo $?)" \
	"published once the primary is back" "$(cat "$dir/rot.out")"
wait_txt 127.0.0.2 "$name" "p="

# ---- another key, then a revoked record, at the servers ----
knotc_set "$name" "$(grep -o '"[^"]*"' "$dir/op/op2025.txt" | tr '\n' ' ')"
wait_txt 127.0.0.2 "$name" "p=" && wait_txt 127.0.0.1 "$name" "p="
keep
now=$((now + 60))
rot >/dev/null
check "$([ "$rc" = 1 ] &&
	has "error: ns[12].rot.test \(127.0.0.[12]@$port\) for $name: the published key does not match the private key" &&
	unchanged; echo $?)" "another key at the servers: an error" \
	"$(cat "$dir/rot.out")"
knotc_set "$name" '"v=DKIM1; k=rsa; p="'
wait_txt 127.0.0.2 "$name" 'p=$'
rot >/dev/null
check "$([ "$rc" = 1 ] && has "for $name: the key is revoked" && unchanged
	echo $?)" "a revoked record at the servers: an error" \
	"$(cat "$dir/rot.out")"
still_op2025 wrong "a wrong record"

# ---- the resolver still serves the old answer ----
drill -p "$rport" @127.0.0.1 "$name" TXT | grep -q 'p="'
check $? "the resolver caches the revoked record"
knotc_set "$name" \
	"$(grep -o '"[^"]*"' "$dir/keys/rot.test/$sel.txt" | tr '\n' ' ')"
wait_txt 127.0.0.2 "$name" "p=MII"
rot >/dev/null
check "$([ "$rc" = 0 ] &&
	has "resolver 127.0.0.1@$rport still serves the old answer for $name: the key is revoked .*cached up to" &&
	unchanged; echo $?)" "the resolver's cached old answer: waits, unchanged" \
	"$(cat "$dir/rot.out")"
unbound_flush
rot >/dev/null
check "$([ "$(phase)" = visible ]; echo $?)" "visible once the cache is gone" \
	"$(cat "$dir/rot.out")"

# ---- the daemon down at the switch ----
daemon_stop
now=$((now + 700))
rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = switched ] &&
	has 'waiting for the daemon to load it: PidFile .*not running'
	echo $?)" "daemon down: the state switches, confirmation waits" \
	"$(cat "$dir/rot.out")"
now=$((now + 30 * day))
rot >/dev/null
check "$([ "$(phase)" = switched ] && has 'waiting for the daemon' &&
	[ -n "$(txt 127.0.0.1 "$port" op2025._domainkey.rot.test)" ]; echo $?)" \
	"no retirement without the daemon's confirmation" "$(cat "$dir/rot.out")"
daemon_start
now=$((now + 60))
rot >/dev/null
check "$([ "$(phase)" = switched ] && has "the daemon signs with $sel"
	echo $?)" "confirmed once the daemon runs (it loaded the state)" \
	"$(cat "$dir/rot.out")"
out=$(sign started)
check "$([ $? = 0 ] && [ "$out" = "$sel;" ]; echo $?)" \
	"the restarted daemon signs with $sel, mail verifies" "$out"

# ---- a reload that fails: the old keys go on signing, nothing retires ----
now=$((now + 8 * day))
rot >/dev/null
now=$((now + 90 * day))
rot >/dev/null
sel2=$(selectors next)
now=$((now + 60)); rot >/dev/null
wait_txt 127.0.0.2 "$sel2._domainkey.rot.test" "p="
now=$((now + 60)); rot >/dev/null
check "$([ "$(phase)" = visible ]; echo $?)" "second rotation visible"
# the daemon runs on a copy of the configuration whose reload will fail
daemon_stop
cp "$conf" "$dir/daemon.conf"
mkdir "$dir/spool"
echo "SpoolDir $dir/spool" >>"$dir/daemon.conf"
daemon_start "$dir/daemon.conf"
rmdir "$dir/spool"
now=$((now + 700))
rot >/dev/null
check "$([ "$rc" = 0 ] && [ "$(phase)" = switched ] &&
	has 'was told to reload but serves generation'; echo $?)" \
	"a reload that fails: switch not confirmed, said so" \
	"$(cat "$dir/rot.out")"
grep -q 'reload of .* failed' "$dir/daemon.log"
check $? "the daemon logged its failed reload"
out=$(sign failed)
check "$([ $? = 0 ] && [ "$out" = "$sel;" ]; echo $?)" \
	"the daemon keeps signing with $sel, mail verifies" "$out"
now=$((now + 30 * day))
rot >/dev/null
check "$([ "$(phase)" = switched ] &&
	[ -n "$(txt 127.0.0.1 "$port" "$name")" ]; echo $?)" \
	"$sel is not retired while the daemon signs with it" \
	"$(cat "$dir/rot.out")"
mkdir "$dir/spool"
rot >/dev/null
check "$(has "the daemon signs with $sel2"; echo $?)" \
	"confirmed once the daemon's reload works" "$(cat "$dir/rot.out")"

# ---- one domain's failure does not spoil the others' state ----
# fail.test comes first; its Ed25519 key cannot be written (a directory
# where its record file goes) after its RSA key was: the run reports it,
# rot.test still takes its step, and the state file stays whole
now=$((now + 8 * day))
d8=$(date -u -d "@$now" +%Y%m%d)
sed -i 's/^RotateDomains .*/RotateDomains fail.test, rot.test/' "$conf"
echo "RotateKeys rsa-2048, ed25519" >>"$conf"
mkdir -p "$dir/keys/fail.test/$d8-ed25519.txt"
rot >/dev/null
check "$([ "$rc" = 1 ] &&
	has '^fail.test: idle: error: cannot generate the next keys' &&
	has "^rot.test: idle: retired $sel: record removed"; echo $?)" \
	"one domain fails, the next still takes its step" "$(cat "$dir/rot.out")"
"$am" rotate -c "$conf" --now "$now" --status >"$dir/rot.out" 2>&1
check "$([ $? = 0 ] && has '^fail.test: idle .*current none' &&
	[ ! -e "$dir/keys/fail.test/$d8-rsa.private" ]; echo $?)" \
	"the state file is whole; the failed step left no key behind" \
	"$(cat "$dir/rot.out")"

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
