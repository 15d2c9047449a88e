#!/bin/sh
# test.sh -- the whole test suite, as CI runs it: installs what is
# missing, builds twice (gcc with -Werror; clang with ASan+UBSan and the
# libFuzzer targets), checks the formatting, runs every suite in both,
# fuzzes each target briefly, and ends with one line "N passed, N failed"
# counted from meson's logs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh packaging/install-deps.sh || exit 1

fuzz_seconds=${FUZZ_SECONDS:-10}
status=0

# the C files are as clang-format writes them (.clang-format); a file
# that differs is a failure, counted in the closing line
format_failed=0
sh tests/check_format.sh || format_failed=1

run_build() {	# dir, then meson setup options
	dir=$1
	shift
	if [ ! -d "$dir" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 ||
			{ cat "$dir.setup.log"; return 1; }
	fi
	ninja -C "$dir" || return 1
	meson test -C "$dir" --print-errorlogs --num-processes 2 ||
		return 1
}

run_build build -Dwerror=true || status=1
CC=clang run_build build-asan -Dwerror=true \
	-Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true ||
	status=1

# the README's first Quick start command, so it cannot rot: the running
# milter signs the outbound message (two DKIM-Signatures, RSA and
# Ed25519), and verifies the inbound one (DKIM, SPF and DMARC pass) and
# removes the forged Authentication-Results; the offline verify at the
# end prints the same header as the milter added
demo_ar() {	# the Authentication-Results field of mx.example.net in stdin
	awk '/^Authentication-Results: mx\.example\.net;/ { on = 1; print; next }
	on && /^[ \t]/ { print; next } { on = 0 }'
}
demo_check() {
	out=$(sed -n '/^== outbound/,/^== inbound/p' build/demo.log)
	in=$(sed -n '/^== inbound/,/^== authmilter verify/p' build/demo.log)
	offline=$(sed -n '/^== authmilter verify/,$p' build/demo.log | demo_ar)
	ar=$(printf '%s\n' "$in" | demo_ar)
	[ "$(printf '%s\n' "$out" | grep -c '^DKIM-Signature: .*d=example.com;')" -eq 2 ] &&
	[ "$(printf '%s\n' "$in" | grep -c '^Authentication-Results:')" -eq 1 ] &&
	[ "$(printf '%s\n' "$ar" | grep -c 'dkim=pass header.d=example.com')" -eq 2 ] &&
	printf '%s\n' "$ar" | grep -q 'spf=pass smtp.mailfrom=example.com' &&
	printf '%s\n' "$ar" | grep -q 'dmarc=pass' &&
	! printf '%s\n' "$in" | grep -q 'forged by the sender' &&
	[ -n "$ar" ] && [ "$ar" = "$offline" ]
}
demo_failed=0
if sh keys/demo/run.sh >build/demo.log 2>&1 && demo_check; then
	echo "demo (keys/demo/run.sh): ok"
else
	echo "demo (keys/demo/run.sh): FAILED"
	cat build/demo.log
	demo_failed=1
fi

# short real fuzzing runs; a crash fails the suite and leaves the input
fuzz_failed=0
for f in build-asan/tests/fuzz/fuzz_*_libfuzzer; do
	[ -x "$f" ] || continue
	name=$(basename "$f" _libfuzzer)
	name=${name#fuzz_}
	corpus=tests/fuzz/corpus/$name
	work=$(mktemp -d)
	if ! "$f" -max_total_time="$fuzz_seconds" -max_len=4096 \
		-artifact_prefix="build-asan/fuzz-$name-" \
		"$work" "$corpus" >"build-asan/fuzz-$name.log" 2>&1; then
		echo "fuzz $name: FAILED (see build-asan/fuzz-$name.log)"
		tail -30 "build-asan/fuzz-$name.log"
		fuzz_failed=$((fuzz_failed + 1))
	else
		echo "fuzz $name: ok," \
			"$(tail -1 "build-asan/fuzz-$name.log")"
	fi
	rm -rf "$work"
done

# count from meson's JSON logs: one object per test
/usr/bin/python3 - "$((fuzz_failed + demo_failed + format_failed))" build build-asan <<'PY'
import json, sys
passed = failed = skipped = 0
fuzz_failed = int(sys.argv[1])
for d in sys.argv[2:]:
    try:
        lines = open(d + "/meson-logs/testlog.json").read().splitlines()
    except OSError:
        failed += 1
        print(d + ": no test log (build failed)")
        continue
    for line in lines:
        r = json.loads(line)["result"]
        if r in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r == "SKIP":
            skipped += 1
        else:
            failed += 1
failed += fuzz_failed
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
[ $? -eq 0 ] || status=1
exit $status
