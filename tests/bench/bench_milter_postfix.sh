#!/bin/sh
# bench_milter_postfix.sh -- throughput through a real Postfix:
# smtp-source -> Postfix (postfix-instance.sh) -> smtp-sink, with no
# milter, with authmilter signing, with authmilter verifying (SPF and
# DMARC lookups served by nsd, cache warm), with opendkim signing,
# with the do-nothing null_milter (both its
# modes) and with opendkim (verify) chained with opendmarc (peers.sh),
# milters on a unix socket in the Postfix queue directory or an inet
# socket on loopback. Prints messages/s (wall clock until the sink has
# them all), the milters' CPU ms per message, and authmilter's msgs/s as
# a ratio of null_milter's on the same socket type. Then authmilter with
# MetricsListen, scraped every second, against the same without: the
# change in CPU per message. ROUNDS=metrics runs only that part,
# ROUNDS=curves only the cost curves below; BENCH_NO_PEERS=1 leaves out
# opendkim and opendmarc. BENCH_TRACE=perf|strace with BENCH_TRACE_DIR
# records each milter round (perf record --call-graph dwarf, strace -c)
# into that directory, one file per round.
# COUNT (default 500) messages, SESSIONS (default 4) parallel SMTP
# sessions, 2 KB bodies. Needs root. Asserts nothing.
#
# Then the cost curves (unix sockets): DKIM-signed mail (bench_send.py
# sends a file made with bench_dkim --gen and authmilter sign) verified by
# authmilter and by opendkim+opendmarc, at 2 KB and 20 KB, each row with
# the milters' CPU per message, its ratio to the do-nothing milter
# (null_milter noreply, same size, same run: the floor) and to the peer,
# and the daemon's peak RSS (VmHWM). BENCH_CURVES=1 adds 1 MB and 10 MB
# (COUNT_BIG messages, default 50), 2, 5 and 10 signatures per message,
# dual signing (rsa-sha256 + ed25519-sha256 in one pass) and a cold DNS
# cache (DNSCacheSize 0: every record from nsd for every message).
# BENCH_SIZES (default "2048 20480") sets the sizes of the first rows.
# BENCH_QUICKACK=1 also runs the inet rounds with the loopback route's
# quickack attribute set (README.md "TCP_NODELAY and delayed ACKs"): it
# changes the machine's routing table for the run and puts it back.
# Ends with openssl speed rsa2048 (the signing target is in units of one
# signature) and the load average.
set -u
src=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${AUTHMILTER_BUILD_ROOT:-$src/build}
am=$build/src/cli/authmilter
e2e=$src/tests/e2e
count=${COUNT:-500}
sessions=${SESSIONS:-4}
hz=$(getconf CLK_TCK)
dir=$(mktemp -d /var/tmp/authmilter-bpf.XXXXXX)
odir=$(mktemp -d /run/authmilter-bpf-odkim.XXXXXX)
mpid=
spid=
null=$build/tests/bench/null_milter
# shellcheck source=tests/bench/peers.sh
. "$src/tests/bench/peers.sh"
cleanup() {
	[ -n "$spid" ] && kill "$spid" 2>/dev/null && wait "$spid" 2>/dev/null
	[ -n "$mpid" ] && kill "$mpid" 2>/dev/null && wait "$mpid" 2>/dev/null
	peers_stop
	peers_dns_stop
	bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
	sh "$e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	rm -rf "$dir" "$odir"
}
trap cleanup EXIT
chmod 755 "$dir"
chmod 700 "$odir"
mkdir "$dir/dns"
port() {
	echo $(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
}
dnsport=$(port)
sh "$e2e/dns-server.sh" start "$dir/dns" "$dnsport" \
    "$src/keys/demo/demo.zone" "$src/tests/milter/milter.zone" >/dev/null ||
	exit 1
install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/key"
cp "$dir/key" "$odir/key"

# procsum AWK FILE PID...: the number AWK prints from /proc/PID/FILE,
# summed over the processes
procsum() {
	prog=$1 file=$2 t=0
	shift 2
	for p in "$@"; do
		t=$((t + $(awk "$prog" "/proc/$p/$file")))
	done
	echo "$t"
}
# cpu PID...: user + system ticks of the processes, summed
cpu() {
	procsum '{ print $14 + $15 }' stat "$@"
}

# hwm PID...: peak RSS (VmHWM) of the processes, summed, in KB
hwm() {
	procsum '/^VmHWM:/ { print $2 }' status "$@"
}

# send N SESSIONS: N messages into Postfix at $smtp: the file $msgfile
# with bench_send.py when set, else smtp-source's generated
# ${size:-2048} bytes
send() {
	if [ -n "${msgfile:-}" ]; then
		/usr/bin/python3 "$src/tests/bench/bench_send.py" \
		    127.0.0.1:"$smtp" "$msgfile" "$1" "$2" \
		    "${sender:-user@example.com}" >/dev/null
	else
		smtp-source -s "$2" -m "$1" -l "${size:-2048}" \
		    -f "${sender:-user@example.com}" -t rcpt@example.net \
		    -S bench 127.0.0.1:"$smtp" >/dev/null 2>&1
	fi
}

# trace_start LABEL PID...: with BENCH_TRACE=perf|strace and
# BENCH_TRACE_DIR, record the milter (the first PID) while a round
# sends: perf record --call-graph dwarf into DIR/LABEL.perf, or
# strace -c -f into DIR/LABEL.strace (labels with spaces and commas
# made file names). The figures of a traced round are the tracer's, not
# the milter's: read them only for the profile.
trace_start() {
	tpid=
	[ -n "${BENCH_TRACE:-}" ] && [ $# -gt 1 ] || return 0
	out=${BENCH_TRACE_DIR:-.}/$(echo "$1" | tr -c 'A-Za-z0-9.\n' _)
	case $BENCH_TRACE in
	perf) perf record -q -F 2000 --call-graph dwarf -o "$out.perf" \
	    -p "$2" >/dev/null 2>&1 & ;;
	strace) strace -c -f -o "$out.strace" -p "$2" >/dev/null 2>&1 & ;;
	*) return 0 ;;
	esac
	tpid=$!
	sleep 1
}
trace_stop() {
	[ -n "${tpid:-}" ] || return 0
	kill -INT "$tpid" 2>/dev/null
	wait "$tpid" 2>/dev/null
	tpid=
}

# round LABEL MILTER-SPEC PID...: send COUNT messages through a fresh
# Postfix (fresh_pf) using MILTER-SPEC (empty: none; "A, B" chains two
# milters), print the figures (CPU of all PIDs summed); sets rate to the
# messages/s, ms to the CPU ms per message, rss to the peak RSS in KB
round() {
	# a port another job took, or the previous instance's master not
	# gone yet (postfix stop does not wait): stop, wait, new ports
	tries=0
	until smtp=$(port) && sink=$(port) &&
	    bash "$e2e/postfix-instance.sh" start "$dir/pf" "$smtp" "$sink" \
	    "$2" >/dev/null 2>&1; do
		tries=$((tries + 1))
		[ $tries -lt 5 ] || { echo "postfix did not start" >&2; exit 1; }
		bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
		sleep 2
	done
	# warm up: one message (DNS cache, connections)
	send 1 1
	sleep 1
	label=$1
	spec=$2
	shift 2
	base=$(ls "$dir/pf/sink" | wc -l)
	c0=$(cpu "$@")
	t0=$(date +%s.%N)
	trace_start "$label" "$@"
	send "$count" "$sessions"
	i=0
	while [ $(($(ls "$dir/pf/sink" | wc -l) - base)) -lt "$count" ] &&
	    [ $i -lt 1200 ]; do
		i=$((i + 1))
		sleep 0.05
	done
	t1=$(date +%s.%N)
	trace_stop
	# a milter that is gone (it did not start: a port taken, say) left
	# the mail to milter_default_action: no figures of it
	for p in "$@"; do
		kill -0 "$p" 2>/dev/null && continue
		label="$label [milter $p exited: figures void]"
		echo "round '$label': milter process $p is gone" >&2
	done
	c1=$(cpu "$@")
	rss=0
	[ $# -gt 0 ] && rss=$(hwm "$@")
	got=$(($(ls "$dir/pf/sink" | wc -l) - base))
	# Authentication-Results fields in the last delivered message: shows
	# the milters did their work (0 for sign and the null rounds)
	last=$(ls -t "$dir/pf/sink" | head -n 1)
	ar=$(grep -c '^Authentication-Results:' "$dir/pf/sink/$last")
	dk=$(grep -o 'dkim=pass' "$dir/pf/sink/$last" | wc -l)
	bash "$e2e/postfix-instance.sh" stop "$dir/pf" >/dev/null 2>&1
	# let the master go before the next round reuses the directory
	i=0
	while [ -f "$dir/pf/queue/pid/master.pid" ] &&
	    kill -0 "$(tr -d " " <"$dir/pf/queue/pid/master.pid" 2>/dev/null)" \
	    2>/dev/null && [ $i -lt 100 ]; do
		i=$((i + 1))
		sleep 0.1
	done
	rate=$(awk -v n="$got" -v t0="$t0" -v t1="$t1" \
	    'BEGIN { printf "%.0f", n / (t1 - t0) }')
	ms=$(awk -v n="$got" -v c="$((c1 - c0))" -v hz="$hz" \
	    'BEGIN { printf "%.3f", n ? c * 1000 / hz / n : 0 }')
	awk -v l="$label" -v n="$got" -v t0="$t0" -v t1="$t1" -v ms="$ms" \
	    -v ar="$ar" -v dk="$dk" -v rss="$rss" 'BEGIN {
		printf "%-34s %6.0f msgs/s  %6.3f ms CPU/msg" \
		    " (milters)  %d delivered  A-R %d  dkim=pass %d" \
		    "  peak RSS %d KB\n", l, n / (t1 - t0), ms, n, ar, dk, rss }'
}

# fresh_pf: an empty Postfix directory with room for a unix milter
# socket in its queue directory, where the chrooted smtpd and cleanup
# reach it as "unix:/m/sock"
fresh_pf() {
	rm -rf "$dir/pf"
	mkdir -p "$dir/pf/queue/m"
	chmod 755 "$dir/pf" "$dir/pf/queue" "$dir/pf/queue/m"
}

# milter_sock [unix]: a fresh Postfix directory and a milter socket on
# loopback inet (or a unix one inside the Postfix queue directory); sets
# sock (libmilter form) and mspec (Postfix form)
milter_sock() {
	fresh_pf
	if [ "$1" = unix ]; then
		sock="local:$dir/pf/queue/m/sock"
		mspec=unix:/m/sock
	else
		mport=$(port)
		sock="inet:$mport@127.0.0.1"
		mspec=inet:127.0.0.1:$mport
	fi
}

# start_am INTERNAL [unix]: authmilter on an inet socket (or a unix one
# inside the Postfix queue directory); sets mpid, mspec
start_am() {
	milter_sock "${2:-}"
	cat >"$dir/am.conf" <<EOF
Socket $sock
AuthservID mx.bench.example
${am_keys:-Domain example.com
Selector demo-rsa
KeyFile $dir/key}
InternalHosts $1
Nameservers 127.0.0.1@$dnsport
LogLevel warning
UMask 000
${am_extra:-}
EOF
	"$am" run -c "$dir/am.conf" -f >"$dir/am.log" 2>&1 &
	mpid=$!
	sleep 0.5
}
# start_null [noreply] [unix]: null_milter like start_am; sets mpid, mspec
start_null() {
	milter_sock "${2:-}"
	# umask 000: the unix socket must be writable by Postfix's smtpd
	# shellcheck disable=SC2086
	(umask 000 && exec "$null" "$sock" $1) >"$dir/null.log" 2>&1 &
	mpid=$!
	sleep 0.5
}
stop_milter() {
	kill "$mpid"
	wait "$mpid" 2>/dev/null
	mpid=
}

# metrics_round MODE off|on: one round of authmilter MODE (sign,
# verify) on an inet socket, without metrics or with MetricsListen
# scraped every second (metrics_client.py, as Prometheus would); sets
# ms
metrics_round() {
	if [ "$1" = sign ]; then
		internal=127.0.0.1 snd=user@example.com
	else
		internal=203.0.113.0/24 snd=user@bench.example
	fi
	if [ "$2" = off ]; then
		start_am "$internal" inet
		sender=$snd round "authmilter $1, no metrics" "$mspec" "$mpid"
		stop_milter
		return
	fi
	# the random port may be taken: another one then
	for try in 1 2 3; do
		hp=$(port)
		am_extra="MetricsListen 127.0.0.1:$hp" start_am "$internal" inet
		kill -0 "$mpid" 2>/dev/null && break
		cat "$dir/am.log" >&2
		wait "$mpid" 2>/dev/null
	done
	/usr/bin/python3 "$e2e/metrics_client.py" repeat "127.0.0.1:$hp" \
	    100000 1 >/dev/null 2>&1 &
	spid=$!
	sender=$snd round "authmilter $1, scraped every 1 s" "$mspec" "$mpid"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	spid=
	# the listener's own thread (libmicrohttpd names it MHD-single):
	# what the scrapes cost, measured apart from the noise of the rest
	for t in /proc/"$mpid"/task/*; do
		[ "$(cat "$t/comm" 2>/dev/null)" = MHD-single ] || continue
		awk -v t="$(awk '{ print $14 + $15 }' "$t/stat")" -v hz="$hz" \
		    -v m="$ms" -v n="$count" 'BEGIN {
			printf "  the listener thread: %.1f ms CPU, %.2f%% of " \
			    "the milter'"'"'s\n", t * 1000 / hz,
			    (m * n > 0 ? t * 1000 / hz * 100 / (m * n) : 0) }'
	done
	stop_milter
}

# metrics_rounds: for sign and verify, rounds without and with metrics in
# the order off, on, on, off (so a drift of the machine's load cancels
# out), and the change in milter CPU per message
metrics_rounds() {
	echo "== metrics: MetricsListen scraped every second, inet socket"
	for mode in sign verify; do
		off=0 on=0
		for kind in off on on off; do
			metrics_round $mode $kind
			sum='BEGIN { print a + b }'
			if [ $kind = off ]; then
				off=$(awk -v a="$off" -v b="$ms" "$sum")
			else
				on=$(awk -v a="$on" -v b="$ms" "$sum")
			fi
		done
		awk -v m="$mode" -v a="$off" -v b="$on" 'BEGIN {
			printf "%s: CPU/msg %.4f ms without, %.4f ms with " \
			    "metrics: %+.1f%%\n", m, a / 2, b / 2,
			    (a > 0 ? (b - a) * 100 / a : 0) }'
	done
}
if [ "${ROUNDS:-all}" = metrics ]; then
	metrics_rounds
	exit 0
fi
have_peers=
command -v opendkim >/dev/null && command -v opendmarc >/dev/null &&
	have_peers=1
# BENCH_NO_PEERS=1: without opendkim and opendmarc
[ -n "${BENCH_NO_PEERS:-}" ] && have_peers=
# ROUNDS=curves: only the cost curves (below)
if [ "${ROUNDS:-all}" != curves ]; then

echo "== through Postfix: $count messages, $sessions sessions, 2 KB"
fresh_pf
round "no milter" ""
for st in unix inet; do
	start_null "" "$st"
	round "null_milter continue, $st socket" "$mspec" "$mpid"
	eval "null_$st=\$rate"
	stop_milter
	start_null noreply "$st"
	round "null_milter noreply, $st socket" "$mspec" "$mpid"
	eval "nullnr_$st=\$rate"
	stop_milter
	start_am 127.0.0.1 "$st"
	round "authmilter sign, $st socket" "$mspec" "$mpid"
	eval "sign_$st=\$rate"
	stop_milter
	# 127.0.0.1 external: mail from example.com would fail its SPF and be
	# rejected by its p=reject, so the sender is a domain without records:
	# DKIM (no signature), SPF and DMARC lookups all happen (cache warm)
	start_am 203.0.113.0/24 "$st"
	sender=user@bench.example round "authmilter verify, $st socket" \
	    "$mspec" "$mpid"
	eval "verify_$st=\$rate"
	stop_milter
done
# BENCH_QUICKACK=1: the inet rounds again with the loopback route's
# quickack attribute (README.md), put back afterwards
if [ -n "${BENCH_QUICKACK:-}" ] &&
    ip route change local 127.0.0.1 dev lo table local quickack 1; then
	start_null noreply inet
	round "null_milter noreply, inet, quickack" "$mspec" "$mpid"
	stop_milter
	start_am 203.0.113.0/24 inet
	sender=user@bench.example round "authmilter verify, inet, quickack" \
	    "$mspec" "$mpid"
	stop_milter
	ip route change local 127.0.0.1 dev lo table local
fi
n='' nr='' sg='' vf='' v=''
echo "== authmilter msgs/s / null_milter msgs/s (same socket type)"
for st in unix inet; do
	eval "n=\$null_$st nr=\$nullnr_$st sg=\$sign_$st vf=\$verify_$st"
	awk -v st="$st" -v n="$n" -v nr="$nr" -v sg="$sg" -v vf="$vf" 'BEGIN {
		printf "%s: sign %.2fx (noreply %.2fx), verify %.2fx" \
		    " (noreply %.2fx)\n", st, n ? sg / n : 0, nr ? sg / nr : 0,
		    n ? vf / n : 0, nr ? vf / nr : 0 }'
done

metrics_rounds

if command -v opendkim >/dev/null; then
oport=$(port)
cat >"$odir/odkim.conf" <<EOF
Socket inet:$oport@127.0.0.1
Domain example.com
Selector demo-rsa
KeyFile $odir/key
InternalHosts 127.0.0.1
Mode sv
Syslog no
Background no
UserID root
EOF
fresh_pf
opendkim -f -x "$odir/odkim.conf" >"$odir/log" 2>&1 &
mpid=$!
sleep 0.5
round "opendkim sign, inet socket" "inet:127.0.0.1:$oport" "$mpid"
stop_milter
fi

# opendkim (verify, 127.0.0.1 external) chained with opendmarc, on the
# messages the authmilter verify rounds get; CPU of both summed
[ -n "$have_peers" ] && { peers_dns "$dir/dns" || exit 1; }
for st in ${have_peers:+unix inet}; do
	fresh_pf
	if [ "$st" = unix ]; then
		s1="local:$dir/pf/queue/m/dkim"
		s2="local:$dir/pf/queue/m/dmarc"
		spec="unix:/m/dkim, unix:/m/dmarc"
	else
		p1=$(port)
		p2=$(port)
		s1="inet:$p1@127.0.0.1"
		s2="inet:$p2@127.0.0.1"
		spec="inet:127.0.0.1:$p1, inet:127.0.0.1:$p2"
	fi
	# umask 000 while they start: their unix sockets must be writable
	# by Postfix's smtpd
	umask 000
	peers_start "$odir" "$s1" "$s2" || exit 1
	umask 022
	sender=user@bench.example round \
	    "opendkim+opendmarc verify, $st" "$spec" "$odkim_pid" "$odmarc_pid"
	eval "n=\$null_$st v=\$verify_$st"
	awk -v st="$st" -v r="$rate" -v n="$n" -v v="$v" 'BEGIN {
		printf "%s: %.2fx null_milter msgs/s; authmilter verify" \
		    " %.2fx its msgs/s\n", st, n ? r / n : 0, r ? v / r : 0 }'
	peers_stop
done
fi

# ---- cost curves (unix sockets) ----

# mkmsg BYTES NSIG OUT: a generated message of about BYTES (bench_dkim
# --gen) from alice@example.com, signed NSIG times (rsa-sha256, then
# ed25519-sha256, alternating; 0: unsigned)
mkmsg() {
	"$build/tests/bench/bench_dkim" --gen "$1" >"$3.0"
	j=0
	while [ $j -lt "$2" ]; do
		k=demo-rsa
		[ $((j % 2)) -eq 1 ] && k=demo-ed
		"$am" sign -d example.com -s $k -k "$src/keys/demo/$k.private" \
		    "$3.$j" >"$3.$((j + 1))" || exit 1
		j=$((j + 1))
	done
	mv "$3.$2" "$3"
	rm -f "$3".[0-9]*
}

# peer_start / peer_stop: opendkim + opendmarc on unix sockets in the
# Postfix directory (fresh_pf first); sets pspec
peer_start() {
	[ -n "${peers_nsd:-}" ] || peers_dns "$dir/dns" || exit 1
	fresh_pf
	umask 000
	peers_start "$odir" "local:$dir/pf/queue/m/dkim" \
	    "local:$dir/pf/queue/m/dmarc" || exit 1
	umask 022
	pspec="unix:/m/dkim, unix:/m/dmarc"
}

# row WHAT SIZE NSIG MS FLOOR PEER RSS: one line of the summary table
row() {
	awk -v w="$1" -v sz="$2" -v ns="$3" -v ms="$4" -v f="$5" -v p="$6" \
	    -v rss="$7" 'BEGIN {
		x = (f > 0) ? sprintf("%.2f", ms / f) : "-"
		y = (p > 0) ? sprintf("%.2f", ms / p) : "-"
		printf "%-34s %8s %4s %8.3f %7s %7s %9d\n", w, sz, ns, ms,
		    x, y, rss }' >>"$dir/curves"
}

# point SIZE NSIG [cold]: the floor, authmilter verify and the peers on
# one signed message; authmilter sign (one rsa-2048 key, or dual) and its
# floor on the unsigned one
point() {
	sz=$1 ns=$2 c=$count
	[ "$sz" -ge 1000000 ] && c=${COUNT_BIG:-50}
	[ "$sz" -ge 5000000 ] && c=$(( ${COUNT_BIG:-50} / 5 ))
	save=$count
	count=$c
	msgfile=$dir/msg.$sz.$ns
	[ -f "$msgfile" ] || mkmsg "$sz" "$ns" "$msgfile"
	start_null noreply unix
	round "floor: null_milter, $sz B, $ns sig" "$mspec" "$mpid"
	stop_milter
	floor=$ms
	peer=0
	if [ -n "$have_peers" ] && [ "${3:-}" != cold ]; then
		peer_start
		round "opendkim+opendmarc, $sz B, $ns sig" "$pspec" \
		    "$odkim_pid" "$odmarc_pid"
		peers_stop
		peer=$ms
		row "opendkim+opendmarc verify" "$sz" "$ns" "$ms" "$floor" 0 \
		    "$rss"
	fi
	what="authmilter verify+SPF+DMARC"
	am_extra="MaxSignatures 16"
	if [ "${3:-}" = cold ]; then
		what="$what, cold DNS"
		am_extra="$am_extra
DNSCacheSize 0"
	fi
	start_am 203.0.113.0/24 unix
	round "authmilter verify, $sz B, $ns sig${3:+, $3}" "$mspec" "$mpid"
	stop_milter
	am_extra=
	row "$what" "$sz" "$ns" "$ms" "$floor" "$peer" "$rss"
	if [ "$ns" = 1 ] && [ "${3:-}" != cold ]; then
		msgfile=$dir/msg.$sz.0
		[ -f "$msgfile" ] || mkmsg "$sz" 0 "$msgfile"
		start_null noreply unix
		round "floor: null_milter, $sz B, unsigned" "$mspec" "$mpid"
		stop_milter
		floor=$ms
		start_am 127.0.0.1 unix
		round "authmilter sign rsa, $sz B" "$mspec" "$mpid"
		stop_milter
		row "authmilter sign rsa-2048" "$sz" 0 "$ms" "$floor" 0 "$rss"
		if [ -n "${BENCH_CURVES:-}" ]; then
			install -m 0600 "$src/keys/demo/demo-ed.private" \
			    "$dir/key-ed"
			printf 'rsa example.com:demo-rsa:%s\ned example.com:demo-ed:%s\n' \
			    "$dir/key" "$dir/key-ed" >"$dir/KeyTable"
			printf '*@example.com rsa\n*@example.com ed\n' \
			    >"$dir/SigningTable"
			am_keys="KeyTable $dir/KeyTable
SigningTable refile:$dir/SigningTable"
			start_am 127.0.0.1 unix
			round "authmilter sign rsa+ed25519, $sz B" "$mspec" \
			    "$mpid"
			stop_milter
			am_keys=
			row "authmilter dual sign rsa+ed25519" "$sz" 0 "$ms" \
			    "$floor" 0 "$rss"
		fi
	fi
	msgfile=
	count=$save
}

# pairs SIZE KIND: BENCH_PAIRS rounds of the floor and of authmilter KIND
# (verify: the signed message; sign: the unsigned one) in turn, each
# pair's ratio of authmilter to the floor next to it, and the median of
# those ratios (a round's CPU moves by 20-30% on a shared machine; the
# floor next to it moves with it). For sign also the excess over the
# floor in signatures ($sig, openssl speed, same run). Sets med to the
# median CPU ms per message of the authmilter rounds.
pairs() {
	sz=$1 kind=$2 list= flist= rlist= xlist=
	ns=1 internal=203.0.113.0/24
	if [ "$kind" = sign ]; then
		ns=0 internal=127.0.0.1
	fi
	msgfile=$dir/msg.$sz.$ns
	[ -f "$msgfile" ] || mkmsg "$sz" "$ns" "$msgfile"
	pn=0
	while [ $pn -lt "$BENCH_PAIRS" ]; do
		pn=$((pn + 1))
		start_null noreply unix
		round "floor, $sz B, pair $pn" "$mspec" "$mpid"
		stop_milter
		f=$ms
		flist="$flist $f"
		start_am "$internal" unix
		round "authmilter $kind, $sz B, pair $pn" "$mspec" "$mpid"
		stop_milter
		list="$list $ms"
		r=$(awk -v a="$ms" -v f="$f" \
		    'BEGIN { printf "%.3f", (f > 0 ? a / f : 0) }')
		x=$(awk -v a="$ms" -v f="$f" -v s="${sig:-0}" \
		    'BEGIN { printf "%.3f", (s > 0 ? (a - f) / s : 0) }')
		rlist="$rlist $r"
		xlist="$xlist $x"
	done
	msgfile=
	med=$(median $list)
	fmed=$(median $flist)
	printf '%-6s %8s  ms/msg median %.3f (floor %.3f)  x floor: median %s (pairs:%s)\n' \
	    "$kind" "$sz" "$med" "$fmed" "$(median $rlist)" "$rlist" \
	    >>"$dir/pairs"
	[ "$kind" = sign ] && printf '%-6s %8s  above the floor, in ' \
	    "$kind" "$sz" >>"$dir/pairs" &&
		printf 'signatures: median %s (pairs:%s)\n' \
		    "$(median $xlist)" "$xlist" >>"$dir/pairs"
	return 0
}
# median N...: the median of the numbers
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR % 2)
			m = v[(NR + 1) / 2]
		else
			m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f", m }'
}

# BENCH_PAIRS=N: only the paired rounds (verify and sign at 2 KB and
# 20 KB; about 15 s a pair at COUNT=2000), then what the 18 KB between
# the sizes cost against SHA-256 of 18 KB at openssl speed
if [ -n "${BENCH_PAIRS:-}" ]; then
	sig=$(openssl speed -seconds 2 rsa2048 2>/dev/null |
	    awk '/^rsa 2048/ { print $4 * 1000 }')
	sha=$(openssl speed -seconds 2 -bytes 16384 sha256 2>/dev/null |
	    awk '/^sha256/ { v = $NF; sub(/k$/, "", v); print v * 1000 }')
	sender=user@example.com
	: >"$dir/pairs"
	pairs 2048 verify
	v2=$med f2=$fmed
	pairs 20480 verify
	v20=$med f20=$fmed
	pairs 2048 sign
	pairs 20480 sign
	echo "== paired rounds ($BENCH_PAIRS pairs of $count messages each)"
	cat "$dir/pairs"
	awk -v a="$v2" -v b="$v20" -v fa="$f2" -v fb="$f20" -v sha="$sha" \
	    -v sig="$sig" 'BEGIN {
		printf "verify 20 KB - 2 KB: %.3f ms (the floor: %.3f ms);" \
		    " SHA-256 of 18 KB at openssl speed: %.3f ms\n", b - a,
		    fb - fa, 18432 / sha * 1000
		printf "openssl speed: one rsa-2048 signature %.3f ms\n", sig }'
	echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
	exit 0
fi

echo "== cost curves, unix sockets: signed mail from example.com (client"
echo "   127.0.0.1 external: SPF fails, DMARC passes through DKIM)"
: >"$dir/curves"
sender=user@example.com
for sz in ${BENCH_SIZES:-2048 20480}; do
	point $sz 1
done
if [ -n "${BENCH_CURVES:-}" ]; then
	for sz in 1000000 10000000; do
		point $sz 1
	done
	for ns in 2 5 10; do
		point 2048 $ns
	done
	point 2048 1 cold
fi
echo "== cost curves: CPU ms per message of the milters, ratio to the"
echo "   floor (null_milter noreply on the same message, same run) and to"
echo "   opendkim+opendmarc; peak RSS of the daemon(s)"
printf '%-34s %8s %4s %8s %7s %7s %9s\n' what bytes sigs ms/msg x-floor \
    x-peer "RSS KB"
cat "$dir/curves"
# the signing target is stated in units of one signature, same run
openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048/ {
	printf "openssl speed: one rsa-2048 signature %.3f ms, one" \
	    " verification %.3f ms\n", $4 * 1000, $5 * 1000 }'
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
