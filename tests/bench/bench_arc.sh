#!/bin/sh
# bench_arc.sh -- what ARC costs (bench_arc.c): CPU per message of the
# verify path without and with a two-set chain, of signing and of
# sealing, next to one RSA-2048 signature; then the same operations
# counted in instructions by callgrind (repeatable where timings on a
# shared machine are not). 2 KB message from bench_dkim --gen. Builds
# nothing.
#	tests/bench/bench_arc.sh [BUILD_DIR [SECONDS]]
set -eu
build=${1:-build}
secs=${2:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
demo=$top/keys/demo
work=$(mktemp -d "${TMPDIR:-/tmp}/bench-arc.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/tests/bench/bench_dkim" --gen 2048 >"$work/msg.eml"
echo "== CPU time (bench_arc, $secs s a cell)"
"$build/tests/bench/bench_arc" "$demo" "$work/msg.eml" "$secs"
if ! command -v valgrind >/dev/null 2>&1; then
	echo "valgrind is missing: no instruction counts"
	exit 0
fi
echo "== instructions (callgrind, one operation after a warm-up one)"
for op in verify-dkim verify-arc sign seal; do
	valgrind --tool=callgrind --collect-atstart=no \
	    --toggle-collect=bench_once \
	    --callgrind-out-file="$work/cg.$op" \
	    "$build/tests/bench/bench_arc" --once $op "$demo" "$work/msg.eml" \
	    >/dev/null 2>"$work/cg.err" || { cat "$work/cg.err"; exit 1; }
	awk -v op=$op '/^(summary|totals):/ {
		printf "%-12s %12d instructions\n", op, $2; exit }' \
	    "$work/cg.$op"
done
ins() { awk '/^(summary|totals):/ { print $2; exit }' "$work/cg.$1"; }
echo "verify-arc - verify-dkim: $(( $(ins verify-arc) - $(ins verify-dkim) )) instructions"
echo "seal - sign:              $(( $(ins seal) - $(ins sign) )) instructions (one RSA-2048 signature: sign's RSA part)"
