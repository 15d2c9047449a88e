# lib.sh -- what the e2e scripts share; they source it first:
#	. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
# Sets src, build, am (the binary), e2e (this directory), pass and fail;
# the mail helpers at the end use the caller's dir (its work directory,
# with the private Postfix in dir/pf) and smtp (that Postfix's port).
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

# The private Postfix tests (test_postfix.sh, test_arc_list.sh,
# test_metrics.sh) share the rest: they set dir, and mpid once the milter
# runs.

# pf_need: what each of them needs: Postfix and its smtp-sink (as root),
# bash for postfix-instance.sh, nsd and drill for the test zones
pf_need() {
	need postfix
	need bash
	need smtp-sink
	need nsd
	need drill
	[ "$(id -u)" = 0 ] || unavailable "Postfix needs root"
}

# pf_setup PREFIX: a fresh test directory /var/tmp/PREFIX.XXXXXX in dir,
# with dns/ and pf/, removed at exit with what runs in it (KEEP=1 keeps
# it).
pf_setup() {
	dir=$(mktemp -d "/var/tmp/$1.XXXXXX")
	mpid=
	trap pf_cleanup EXIT
	chmod 755 "$dir"
	mkdir "$dir/dns" "$dir/pf"
}

pf_cleanup() {
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
	sh "$e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	if [ "${KEEP:-}" = 1 ]; then echo "kept $dir" >&2; else rm -rf "$dir"; fi
}

# pf_dns_start: nsd serving the demo and milter test zones from
# $dir/dns on a free port; sets dnsport. Another test may take a port
# between the check and nsd's bind: a few are tried.
pf_dns_start() {
	dnsport=
	for try in 1 2 3 4 5; do
		p=$(sh "$e2e/free-port.sh")
		if sh "$e2e/dns-server.sh" start "$dir/dns" "$p" \
		    "$src/keys/demo/demo.zone" "$src/tests/milter/milter.zone"
		then
			dnsport=$p
			return 0
		fi
	done
	echo "nsd did not start" >&2
	exit 1
}

# pf_conf MILTERPORT: the configuration lines they share (after
# pf_dns_start): the milter on 127.0.0.1:MILTERPORT signing example.com
# with $dir/demo-rsa.private for 127.0.0.1, nsd for DNS
pf_conf() {
	cat <<EOF
Socket inet:$1@127.0.0.1
AuthservID mx.test.example
Domain example.com
Selector demo-rsa
KeyFile $dir/demo-rsa.private
InternalHosts 127.0.0.1
Nameservers 127.0.0.1@$dnsport
DNSTimeout 1
EOF
}

# pf_milter_start: authmilter run -f with $dir/authmilter.conf, its log
# in $dir/milter.log; sets mpid and waits until it has started.
pf_milter_start() {
	LSAN_OPTIONS=suppressions=$src/tests/milter/lsan.supp \
		"$am" run -c "$dir/authmilter.conf" -f >"$dir/milter.log" 2>&1 &
	mpid=$!
	i=0
	until grep -q ' started: ' "$dir/milter.log"; do
		i=$((i + 1))
		[ $i -lt 100 ] || { cat "$dir/milter.log" >&2; exit 1; }
		sleep 0.05
	done
}

# msg NAME FROM [EXTRA-HEADER]: write dir/NAME.eml, a test message from
# FROM with X-Test: NAME; prints its path
msg() {
	{
		[ -n "${3:-}" ] && printf '%s\r\n' "$3"
		printf 'From: Test <%s>\r\nTo: rcpt@example.net\r\n' "$2"
		printf 'Subject: e2e %s\r\nX-Test: %s\r\n' "$1" "$1"
		printf 'Message-ID: <%s@example.com>\r\n\r\n' "$1"
		printf 'Hello from the %s test.\r\n' "$1"
	} >"$dir/$1.eml"
	echo "$dir/$1.eml"
}

# delivered NAME: the sink's copy of message NAME (waits up to 20 s),
# without smtp-sink's envelope lines, CRLF line ends, in dir/NAME.out;
# prints its path
delivered() {
	f=$(sink_file "$dir/pf" "$1") || return 1
	sed -e '1,/^X-Rcpt-Args:/d' "$f" | sed 's/\r*$/\r/' >"$dir/$1.out"
	echo "$dir/$1.out"
}

# send IP FROM FILE: FILE over SMTP to the private Postfix from the
# loopback address IP, to rcpt@example.net (smtp_send.py: prints the
# reply, exit 0 on 250, 5 on 5xx, 4 on 4xx)
send() {
	/usr/bin/python3 "$e2e/smtp_send.py" "$smtp" "$1" "$2" \
	    rcpt@example.net "$3"
}

# pf_finish: stop the milter, check it stopped cleanly, show the logs
# when something failed, print the summary; the exit status says whether
# everything passed.
pf_finish() {
	kill "$mpid"
	wait "$mpid"
	st=$?
	mpid=
	! grep -q 'Sanitizer\|runtime error' "$dir/milter.log" && [ $st = 0 ]
	check $? "authmilter stopped cleanly (status $st)"
	if [ $fail -ne 0 ]; then
		echo "--- milter log" >&2
		grep -v ': debug: ' "$dir/milter.log" >&2
		echo "--- postfix log" >&2
		tail -40 "$dir/pf/maillog" >&2
	fi
	echo "$pass passed, $fail failed"
	[ $fail -eq 0 ]
}
