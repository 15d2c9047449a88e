#!/bin/sh
# check_format.sh -- every C file git tracks is as clang-format (with the
# tree's .clang-format) writes it. Lists the files that differ and fails;
# `clang-format -i FILE` fixes one.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if ! command -v clang-format >/dev/null 2>&1; then
	echo "check_format: clang-format is not installed" >&2
	exit 1
fi
bad=0
for f in $(git ls-files '*.c' '*.h'); do
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check_format: $f differs from clang-format's output" >&2
		bad=$((bad + 1))
	fi
done
if [ "$bad" -gt 0 ]; then
	echo "check_format: $bad file(s) to format (clang-format -i)" >&2
	exit 1
fi
echo "check_format: $(git ls-files '*.c' '*.h' | wc -l) files formatted"
