#!/bin/sh
# bench_canon.sh -- the canon benchmark next to `openssl speed` SHA-256 at
# 8 KB blocks on the same machine, in the same run.
#	tests/bench/bench_canon.sh [BUILD_DIR]
set -eu
build=${1:-build}
"$build/tests/bench/bench_canon" 1
echo "openssl speed -seconds 1 -bytes 8192 sha256:"
openssl speed -seconds 1 -bytes 8192 sha256 2>/dev/null | tail -n 1 |
    awk '{ printf "openssl sha256 8192B  %8.1f MB/s\n", $NF / 1000 }'
