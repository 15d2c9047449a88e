# lib.sh -- what the e2e scripts share; they source it first:
#	. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
# Sets src, build, am (the binary), e2e (this directory), pass and fail.
src=${AUTHMILTER_SOURCE_ROOT:?}
build=${AUTHMILTER_BUILD_ROOT:?}
am=$build/src/cli/authmilter
e2e=$src/tests/e2e
pass=0
fail=0

# unavailable WHY: a component is missing: skip (77), or fail when CI=true
unavailable() {
	echo "$(basename "$0"): $*" >&2
	[ "${CI:-}" = true ] && exit 1
	exit 77
}

# need COMMAND: unavailable unless COMMAND is installed
need() {
	command -v "$1" >/dev/null 2>&1 ||
		unavailable "$1 is missing (packaging/install-deps.sh)"
}

# check STATUS NAME [DETAIL]: count and print one result; DETAIL is shown
# on failure
check() {
	if [ "$1" = 0 ]; then
		pass=$((pass + 1))
		echo "ok $pass - $2"
	else
		fail=$((fail + 1))
		echo "FAIL - $2${3:+: $3}"
	fi
}

# sink_file PFDIR NAME: print the file of the message with "X-Test: NAME"
# that the private Postfix of PFDIR (postfix-instance.sh) delivered to its
# smtp-sink; waits up to 20 s, flushing the queue every 2 s. 1 when it
# did not come.
sink_file() {
	i=0
	while :; do
		f=$(grep -l "^X-Test: $2" "$1/sink/"* 2>/dev/null | head -1)
		[ -n "$f" ] && break
		i=$((i + 1))
		[ $i -lt 200 ] || return 1
		[ $((i % 20)) = 0 ] && bash "$e2e/postfix-instance.sh" flush "$1"
		sleep 0.1
	done
	echo "$f"
}
