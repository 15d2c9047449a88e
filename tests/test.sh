#!/bin/sh
# test.sh -- the whole test suite, as CI runs it: installs what is
# missing, builds twice (gcc with -Werror; clang with ASan+UBSan and the
# libFuzzer targets), runs every suite in both, fuzzes each target briefly,
# and ends with one line "N passed, N failed" counted from meson's logs.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh packaging/install-deps.sh || exit 1

fuzz_seconds=${FUZZ_SECONDS:-10}
status=0

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

# the README's first Quick start command, so it cannot rot: the demo must
# sign and verify with DKIM, SPF and DMARC passing
demo_failed=0
if sh keys/demo/run.sh >build/demo.log 2>&1 &&
	[ "$(grep -c 'dkim=pass' build/demo.log)" -eq 2 ] &&
	grep -q 'spf=pass' build/demo.log && grep -q 'dmarc=pass' build/demo.log
then
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
/usr/bin/python3 - "$((fuzz_failed + demo_failed))" build build-asan <<'PY'
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
