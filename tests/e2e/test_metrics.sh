#!/bin/sh
# test_metrics.sh -- end to end: a real Prometheus (Debian's package,
# its own config and data directory, on loopback, scraping every second)
# scrapes authmilter's MetricsListen endpoint while mail goes through a
# real Postfix (postfix-instance.sh) with nsd serving the test zones.
# Checks:
#   - a second daemon on the same MetricsListen port does not start and
#     says "FILE:LINE: MetricsListen ...: Address already in use";
#   - Prometheus' HTTP API gives exactly the counts of what was sent:
#     signed (2 over SMTP from an internal client, 1 through sendmail),
#     passed (2 inbound with dkim and dmarc pass), rejected (2 p=reject
#     failures answered 550);
#   - promtool accepts a real scrape; the Grafana dashboard
#     (packaging/grafana/authmilter.json) names only metrics the scrape
#     has, and Prometheus evaluates every query of it;
#   - HTTP clients that send half a request or nothing neither stall a
#     scrape nor the mail going through Postfix.
# Prints the daemon CPU one scrape costs (not asserted). Needs root
# (Postfix). Exit 77 (skip) when a component is missing, unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
pf_need
need prometheus
need promtool
/usr/bin/python3 -c 'import dkim' 2>/dev/null || need python3-dkim

port() {
	sh "$e2e/free-port.sh"
}
client() {
	/usr/bin/python3 "$e2e/metrics_client.py" "$@"
}

pf_setup authmilter-e2e-metrics
ppid_=
# Prometheus goes first, then what pf_setup's cleanup stops
cleanup() {
	[ -n "$ppid_" ] && kill "$ppid_" 2>/dev/null && wait "$ppid_" 2>/dev/null
	pf_cleanup
}
trap cleanup EXIT
mkdir "$dir/spool" "$dir/prom"

pf_dns_start

install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/demo-rsa.private"
# conf MILTERPORT METRICSPORT: the configuration
conf() {
	pf_conf "$1"
	cat <<EOF
SpoolDir $dir/spool
MetricsListen 127.0.0.1:$2
MetricsDomains reject.example
KeyMaxAge 180
EOF
}
# the metrics port may be taken between the check and the bind: retry
for try in 1 2 3 4 5; do
	mport=$(port)
	hport=$(port)
	conf "$mport" "$hport" >"$dir/authmilter.conf"
	LSAN_OPTIONS=suppressions=$src/tests/milter/lsan.supp \
		"$am" run -c "$dir/authmilter.conf" -f >"$dir/milter.log" 2>&1 &
	mpid=$!
	i=0
	until grep -q ' started: ' "$dir/milter.log" ||
	    ! kill -0 "$mpid" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 100 ] || break
		sleep 0.05
	done
	grep -q ' started: ' "$dir/milter.log" && break
	wait "$mpid" 2>/dev/null
	mpid=
done
[ -n "$mpid" ] || { cat "$dir/milter.log" >&2; exit 1; }
maddr=127.0.0.1:$hport

# 1. the port in use: a second daemon names the option and its line
conf "$(port)" "$hport" >"$dir/second.conf"
"$am" run -c "$dir/second.conf" -f >"$dir/second.log" 2>&1
st=$?
[ $st = 1 ] && grep -q "second.conf:10: MetricsListen 127.0.0.1:$hport: Address already in use" "$dir/second.log"
check $? "port in use: the second daemon stops naming MetricsListen and file:line" \
    "status $st: $(cat "$dir/second.log")"

# 2. Prometheus scraping every second
pport=$(port)
cat >"$dir/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: authmilter
    static_configs:
      - targets: ['$maddr']
EOF
prometheus --config.file="$dir/prometheus.yml" \
    --storage.tsdb.path="$dir/prom" --web.listen-address="127.0.0.1:$pport" \
    --log.level=warn >"$dir/prometheus.log" 2>&1 &
ppid_=$!
prom=http://127.0.0.1:$pport
# query PROMQL: the value of a one-element instant vector ("" if none)
query() {
	/usr/bin/python3 - "$prom" "$1" <<'EOF'
import json, sys, urllib.parse, urllib.request
url = sys.argv[1] + "/api/v1/query?" + urllib.parse.urlencode(
    {"query": sys.argv[2]})
try:
    with urllib.request.urlopen(url, timeout=5) as r:
        res = json.load(r)["data"]["result"]
    print(res[0]["value"][1] if len(res) == 1 else "")
except Exception:
    print("")
EOF
}
i=0
until [ "$(query 'up{job="authmilter"}')" = 1 ]; do
	i=$((i + 1))
	[ $i -lt 120 ] || break
	sleep 0.25
done
[ "$(query 'up{job="authmilter"}')" = 1 ]
check $? "Prometheus scrapes the daemon (up == 1)" "$(cat "$dir/prometheus.log")"

smtp=$(port)
sink=$(port)
bash "$e2e/postfix-instance.sh" start "$dir/pf" "$smtp" "$sink" \
    "inet:127.0.0.1:$mport" || { echo "postfix did not start" >&2; exit 1; }

# 3. the mail: 3 signed, 2 passed, 2 rejected
for n in 1 2; do
	send 127.0.0.1 user@example.com "$(msg internal$n user@example.com)" \
	    >/dev/null
	delivered internal$n >/dev/null
	check $? "internal message $n delivered"
done
bash "$e2e/postfix-instance.sh" sendmail "$dir/pf" -f user@example.com \
    rcpt@example.net <"$(msg sendmail user@example.com)"
delivered sendmail >/dev/null
check $? "sendmail message delivered"
for n in 1 2; do
	sed -e '/^Received:/,/^[^ \t]/{/^Received:/d;/^[ \t]/d}' \
	    -e "s/^X-Test: internal$n/X-Test: inbound$n/" \
	    "$dir/internal$n.out" >"$dir/inbound$n.eml"
	r=$(send 127.0.0.5 user@example.com "$dir/inbound$n.eml")
	check $? "inbound message $n accepted ($r)"
	out=$(delivered inbound$n)
	tr -d '\r\n\t' <"$out" | grep -q 'dmarc=pass'
	check $? "inbound message $n has dmarc=pass"
done
for n in 1 2; do
	r=$(send 127.0.0.5 x@reject.example "$(msg reject$n x@reject.example)")
	[ $? = 5 ] && echo "$r" | grep -q '^550 '
	check $? "p=reject failure $n gets 550 ($r)"
done

# 4. what Prometheus has, once its scrapes have caught up
expect() {
	i=0
	while [ "$(query "$1")" != "$2" ] && [ $i -lt 60 ]; do
		i=$((i + 1))
		sleep 0.5
	done
	got=$(query "$1")
	[ "$got" = "$2" ]
	check $? "Prometheus: $1 == $2" "got '$got'"
}
expect 'sum(authmilter_messages_total{path="sign",action="accept"})' 3
expect 'sum(authmilter_signatures_total{domain="example.com"})' 3
expect 'sum(authmilter_auth_results_total{method="dmarc",result="pass"})' 2
expect 'sum(authmilter_auth_results_total{method="dkim",result="pass"})' 2
expect 'sum(authmilter_messages_total{path="verify",action="accept"})' 2
expect 'sum(authmilter_messages_total{action="reject"})' 2
expect 'sum(authmilter_dmarc_domain_results_total{domain="reject.example",result="fail"})' 2
expect 'sum(authmilter_messages_total)' 7
expect 'authmilter_eom_duration_seconds_count' 7

# 5. a real scrape: promtool, and the dashboard against it and Prometheus
client get "$maddr" /metrics | tail -n +2 >"$dir/scrape.txt"
promtool check metrics <"$dir/scrape.txt" >"$dir/promtool.log" 2>&1
check $? "promtool check metrics accepts the scrape" "$(cat "$dir/promtool.log")"
/usr/bin/python3 "$e2e/check_dashboard.py" \
    "$src/packaging/grafana/authmilter.json" "$dir/scrape.txt" "$prom" \
    >"$dir/dashboard.log" 2>&1
check $? "the Grafana dashboard: valid, its metrics scraped, its queries evaluated" \
    "$(cat "$dir/dashboard.log")"

# 6. stuck HTTP clients stall neither a scrape nor the mail
client hold "$maddr" 6 12 "$dir/hold" >/dev/null 2>&1 &
hpid=$!
i=0
while [ ! -s "$dir/hold" ] && [ $i -lt 60 ]; do
	i=$((i + 1))
	sleep 0.05
done
[ "$(client get "$maddr" /metrics | head -1)" = 200 ]
check $? "a scrape is answered while 6 clients hang"
send 127.0.0.1 user@example.com "$(msg stuck user@example.com)" >/dev/null
delivered stuck >/dev/null
check $? "mail goes through Postfix and the milter meanwhile"
wait "$hpid"
grep -q 'closed 6' "$dir/hold.done"
check $? "the listener closed the hanging clients ($(cat "$dir/hold.done"))"

# the CPU a scrape costs the daemon (printed, not asserted)
t0=$(awk '{ print $14 + $15 }' "/proc/$mpid/stat")
n=$(client repeat "$maddr" 500)
t1=$(awk '{ print $14 + $15 }' "/proc/$mpid/stat")
hz=$(getconf CLK_TCK)
echo "scrape cost: $n scrapes, $((t1 - t0)) ticks of daemon CPU: $(awk \
    "BEGIN { printf \"%.3f\", ($t1 - $t0) * 1000 / $hz / $n }") ms each," \
    "$(wc -c <"$dir/scrape.txt") bytes"

pf_finish
