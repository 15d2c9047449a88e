#!/bin/sh
# verify_spool_report.sh AUTHMILTER SOURCE_ROOT -- the offline
# report pipeline: `authmilter verify --spool` writes the records the milter
# would, `authmilter report --config` turns them into an RFC 9990 report
# that validates against the schema, with one count per message.
set -u
am=$1 top=$2
xsd=$top/tests/data/dmarc/rfc9990-dmarc-2.0.xsd
if ! command -v xmllint >/dev/null; then
	echo "xmllint missing (libxml2-utils)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
[ -r "$xsd" ] || { echo "FAIL: no schema at $xsd"; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
mkdir "$d/spool"
fail=0
now=1795435200	# 2026-11-23 12:00 UTC
n=0
for ip in 192.0.2.25 203.0.113.9 203.0.113.9 2001:db8::25; do
	"$am" verify --zone "$top/keys/demo/demo.zone" --now $now --ip "$ip" \
		--helo mail.example.com --mail-from alice@example.com \
		--spool "$d/spool" --json "$top/keys/demo/message.eml" \
		>/dev/null
	n=$((n + 1))
done
lines=$(cat "$d"/spool/*.jsonl | wc -l)
[ "$lines" -eq $n ] || { echo "spool has $lines records, want $n"; fail=1; }
cat >"$d/authmilter.conf" <<CONF
Mode v
Socket local:$d/sock
SpoolDir $d/spool
ReportOrgName Example Receiver
ReportEmail dmarc-reports@mx.example.net
Syslog no
CONF
"$am" report --config "$d/authmilter.conf" --now $((now + 86400)) \
	--zone "$top/keys/demo/demo.zone" || { echo "report failed"; fail=1; }
set -- "$d"/spool/reports/*.xml.gz
[ -f "$1" ] || { echo "no report written"; exit 1; }
zcat "$1" >"$d/r.xml"
xmllint --noout --schema "$xsd" "$d/r.xml" || fail=1
sum=$(xmllint --xpath 'sum(//*[local-name()="count"])' "$d/r.xml")
[ "$sum" = "$n" ] || { echo "report counts $sum messages, want $n"; fail=1; }
rows=$(xmllint --xpath 'count(//*[local-name()="record"])' "$d/r.xml")
[ "$rows" = 3 ] || { echo "report has $rows rows, want 3"; fail=1; }
grep -q '<disposition>reject</disposition>' "$d/r.xml" ||
	{ echo "no reject row"; fail=1; }
# the run is in the state file the daemon's metrics endpoint reads
grep -qx 'runs 1' "$d/spool/report-state" &&
    grep -qx 'runs_failed 0' "$d/spool/report-state" &&
    grep -qx 'reports_failed 0' "$d/spool/report-state" ||
	{ echo "report-state:"; cat "$d/spool/report-state"; fail=1; }
[ $fail -eq 0 ] && echo "ok: $n messages -> 1 report, $rows rows, valid"
exit $fail
