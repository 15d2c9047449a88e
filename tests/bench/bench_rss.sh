#!/bin/sh
# bench_rss.sh -- peak resident memory when verifying 1 MB, 10 MB and 50 MB
# messages, (a) through the streaming path the milter uses (bench_rss:
# header section, then the body in 64 KB chunks through verdict_body) and
# (b) through `authmilter verify`, which reads the whole file into memory
# first and so grows with the message: shown for comparison. Also counts
# the instructions of one 2 KB sign and one 2 KB verify with callgrind
# (repeatable where timings are not). Builds nothing.
#	tests/bench/bench_rss.sh [BUILD_DIR]
set -eu
build=${1:-build}
top=$(cd "$(dirname "$0")/../.." && pwd)
am="$build/src/cli/authmilter"
demo="$top/keys/demo"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# git does not keep file modes: the keys must not be readable by others
for k in demo-rsa demo-ed; do
	install -m 0600 "$demo/$k.private" "$work/$k.private"
done
now=$(date +%s)

# Peak RSS in KB of a command: /usr/bin/time -v when present, else the
# figure bench_rss prints itself (the CLI then gets none).
peak() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -v "$@" 2>"$work/time" >"$work/out" || true
		awk -F: '/Maximum resident/ { print $2 + 0 }' "$work/time"
	else
		"$@" >"$work/out" 2>/dev/null || true
		awk '/^peak rss/ { print $9 }' "$work/out"
	fi
}

printf '%-6s %-22s %-22s %-22s %s\n' size "stream setup->peak KB" \
    "stream time -v KB" "CLI verify time -v KB" "results (stream)"
for mb in 1 10 50; do
	msg="$work/m$mb.eml"
	"$build/tests/bench/bench_dkim" --gen $((mb * 1048576)) >"$work/plain"
	"$am" sign -d example.com -s demo-rsa -k "$work/demo-rsa.private" \
	    "$work/plain" >"$work/rsa"
	"$am" sign -d example.com -s demo-ed -k "$work/demo-ed.private" \
	    "$work/rsa" >"$msg"
	s_time=$(peak "$build/tests/bench/bench_rss" "$demo/demo.zone" \
	    "$now" "$msg")
	# "peak rss after setup X KB, after verify Y KB, arena Z bytes"
	s_self=$(awk '/^peak rss/ { print $5 " -> " $9 }' "$work/out")
	res=$(awk '/^dkim/ { printf "%s=%s ", $2, $3 }' "$work/out")
	c_time=$(peak "$am" verify --zone "$demo/demo.zone" --now "$now" \
	    --authserv-id bench.example.net "$msg")
	printf '%-6s %-22s %-22s %-22s %s\n' "${mb}MB" "$s_self" \
	    "${s_time:-n/a}" "${c_time:-n/a}" "$res"
done

echo
echo "== instructions (callgrind, one 2 KB operation after a warm-up one)"
for op in sign verify verify-cold; do
	for alg in rsa ed; do
		valgrind --tool=callgrind --collect-atstart=no \
		    --toggle-collect=bench_once \
		    --callgrind-out-file="$work/cg.out" \
		    "$build/tests/bench/bench_dkim" --once $op $alg "$demo" \
		    >/dev/null 2>"$work/cg.err"
		awk -v op=$op -v alg=$alg '/^(summary|totals):/ {
			printf "%-12s %-8s %12d instructions\n", op, alg, $2
			exit }' "$work/cg.out"
	done
done
