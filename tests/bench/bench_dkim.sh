#!/bin/sh
# bench_dkim.sh -- DKIM sign/verify and body canon+hash throughput next to
# the raw OpenSSL primitives measured on the same machine in the same run:
# bench_dkim, `openssl speed` rsa2048, ed25519 and sha256 at 8 KB blocks,
# and bench_canon. Builds nothing: run `ninja -C BUILD_DIR` first.
#	tests/bench/bench_dkim.sh [BUILD_DIR [SECONDS]]
# The ratio column is authmilter rate / openssl rate: 1.00 would mean the
# DKIM work around the signature (parsing, canonicalization, hashing,
# key lookup) costs nothing.
set -eu
build=${1:-build}
secs=${2:-1}
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== bench_dkim (messages per CPU second, single thread)"
"$build/tests/bench/bench_dkim" --seconds "$secs" "$top/keys/demo" |
    tee "$work/dkim"
echo "== bench_canon (1 MB body, 8 KB chunks)"
"$build/tests/bench/bench_canon" "$secs" | tee "$work/canon"
echo "== openssl speed"
openssl speed -seconds 1 rsa2048 2>/dev/null | tail -n 1 | tee "$work/rsa"
openssl speed -seconds 1 ed25519 2>/dev/null | tail -n 1 | tee "$work/ed"
openssl speed -seconds 1 -bytes 8192 sha256 2>/dev/null | tail -n 1 |
    tee "$work/sha"

# openssl lines: "rsa 2048 bits 0.000742s 0.000023s 1346.9 42827.5" and
# " 253 bits EdDSA (Ed25519) 0.0001s 0.0002s 13844.7 5895.1": sign/s and
# verify/s are the last two fields; sha256: "sha256 1422950.40k" (kB/s).
rsa_s=$(awk '{ print $(NF-1) }' "$work/rsa")
rsa_v=$(awk '{ print $NF }' "$work/rsa")
ed_s=$(awk '{ print $(NF-1) }' "$work/ed")
ed_v=$(awk '{ print $NF }' "$work/ed")
sha=$(awk '{ sub(/k$/, "", $NF); print $NF / 1000 }' "$work/sha")

echo
echo "== authmilter vs openssl, same run"
printf '%-12s %-8s %6s %11s %11s %7s\n' op alg size "authmilter/s" \
    "openssl/s" ratio
awk -v rs="$rsa_s" -v rv="$rsa_v" -v es="$ed_s" -v ev="$ed_v" '
$1 ~ /^(sign|verify-warm|verify-cold)$/ && NF == 7 {
	if ($2 == "rsa2048")
		ref = $1 == "sign" ? rs : rv
	else
		ref = $1 == "sign" ? es : ev
	printf "%-12s %-8s %6s %11.1f %11.1f %7.2f\n", $1, $2, $3, $4, ref,
	    $4 / ref
}' "$work/dkim"
printf '%-12s %-8s %6s %11s %11s %7s\n' op "" "" "MB/s" "sha256 MB/s" ratio
awk -v sha="$sha" '
/^canon (simple|relaxed)/ {
	alg = $2
	sub(/\+sha256/, "", alg)
	printf "%-12s %-8s %6s %11.1f %11.1f %7.2f\n", "canon+hash", alg,
	    "8K", $3, sha, $3 / sha
}' "$work/canon"
