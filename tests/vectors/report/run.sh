#!/bin/sh
# run.sh -- `authmilter report` and `authmilter stats` on a synthetic
# spool: 101,000 records (50 domains, 500 source IPs, two hosts, two spool
# directories, two days), a torn last line, two report runs started at
# once, every report validated against the RFC 9990 schema with xmllint,
# report counts summed back to the records written; then --send with a
# failing and a capturing fake sendmail.
#   run.sh AUTHMILTER GEN_SPOOL
set -u
am=$1
gen=$2
top=${AUTHMILTER_SOURCE_ROOT:-$(cd "$(dirname "$0")/../../.." && pwd)}
xsd=$top/tests/data/dmarc/rfc9990-dmarc-2.0.xsd
failed=0
checks=0

ok() {	# ok CONDITION-STATUS MESSAGE
	checks=$((checks + 1))
	if [ "$1" -ne 0 ]; then
		failed=$((failed + 1))
		echo "FAIL: $2"
	fi
}

if ! command -v xmllint >/dev/null 2>&1; then
	if [ "${CI:-}" = true ]; then
		echo "FAIL: xmllint is missing (libxml2-utils)"
		exit 1
	fi
	echo "SKIP: xmllint is missing (libxml2-utils)"
	exit 77
fi
[ -r "$xsd" ] || { echo "FAIL: no schema at $xsd"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1

day=1699920000			# 2023-11-14
day0=$((day - 86400))		# 2023-11-13
now=$((day + 2 * 86400 + 3600))	# 2023-11-16 01:00 UTC
today=$((now - now % 86400))
common="--org-name Test --email dmarc@example.org --now $now --period all"

mkdir s1 s2 outA outB
"$gen" s1 mx1.example.org 60000 50 500 $day 1 || exit 1
"$gen" s2 mx2.example.org 40000 50 500 $day 2 || exit 1
"$gen" s1 mx1.example.org 1000 50 500 $day0 3 || exit 1
"$gen" s1 mx1.example.org 10 5 5 $today 4 >/dev/null || exit 1
written=101000
# a crash in the middle of a write: the last line is torn
printf '{"version":1,"time":16999' >>s2/2023-11-14.mx2.example.org.jsonl

# --- two runs at once: each file claimed by exactly one of them ---
"$am" report --spool s1 --spool s2 --out outA $common >A.out 2>A.err &
pa=$!
"$am" report --spool s2 --spool s1 --out outB $common >B.out 2>B.err &
pb=$!
wait $pa
ra=$?
wait $pb
rb=$?
ok $ra "first report run exit $ra: $(cat A.err)"
ok $rb "second report run exit $rb: $(cat B.err)"

invalid=0
sum=0
reports=0
for f in outA/*.xml.gz outB/*.xml.gz; do
	[ -e "$f" ] || continue
	reports=$((reports + 1))
	if ! zcat "$f" | xmllint --noout --schema "$xsd" - 2>xmllint.err; then
		invalid=$((invalid + 1))
		[ $invalid -le 3 ] && cat xmllint.err
	fi
	n=$(zcat "$f" | xmllint --xpath \
		'sum(//*[local-name()="record"]/*[local-name()="row"]/*[local-name()="count"])' -)
	sum=$((sum + n))
done
ok $invalid "$invalid of $reports reports do not validate against $xsd"
[ "$sum" -eq "$written" ]
ok $? "reports count $sum messages, $written were written"
[ "$reports" -ge 100 ]
ok $? "$reports reports, want one per domain and day (>= 100)"
grep -q "torn last line" A.err B.err
ok $? "the torn last line was not reported"
n=$(ls s1/processed s2/processed | grep -c '\.jsonl$')
[ "$n" -eq 3 ]
ok $? "$n spool files processed, want 3"
[ -e s1/$(date -u -d @$today +%Y-%m-%d).mx1.example.org.jsonl ]
ok $? "today's spool file was claimed"
n=$(ls s1 s2 | grep -c claimed)
[ "$n" -eq 0 ]
ok $? "$n claims left behind"
echo "$reports reports, $sum messages counted, $written written"

# --- stats: every record, processed or not ---
"$am" stats --spool s1 --spool s2 >stats.out 2>stats.err
ok $? "stats failed: $(cat stats.err)"
grep -q "^total: 101010 messages, 50 policy domains" stats.out
ok $? "stats total: $(tail -1 stats.out)"
grep -q "^d0.example: " stats.out
ok $? "stats has no line for d0.example"

# --- sending: a failed send leaves the spool for the next run ---
mkdir s4 out4 mail
"$gen" s4 mx1.example.org 300 3 10 $day 5 >/dev/null || exit 1
printf '%s\n' 'd0.example._report._dmarc.reports.example.net. 300 IN TXT "v=DMARC1"' >zone
printf '#!/bin/sh\ncat >/dev/null\nexit 1\n' >fail.sh
printf '#!/bin/sh\ncat >"%s/mail/$$"\n' "$tmp" >capture.sh
chmod +x fail.sh capture.sh
"$am" report --spool s4 --out out4 $common --zone zone --send \
	--sendmail "$tmp/fail.sh" >F.out 2>F.err
[ $? -eq 1 ]
ok $? "a failed send does not exit 1: $(cat F.err)"
[ -e s4/2023-11-14.mx1.example.org.jsonl ] && [ ! -d s4/processed ]
ok $? "a failed send did not leave the spool file for a retry"

"$am" report --spool s4 --out out4 $common --zone zone --send \
	--sendmail "$tmp/capture.sh" --no-reports-to dmarc@d2.example \
	>S.out 2>S.err
ok $? "report --send exit $?: $(cat S.err)"
n=$(ls mail | wc -l)
[ "$n" -eq 2 ]
ok $? "$n mails sent, want 2 (d2.example is suppressed)"
n=$(ls out4/*.xml.gz | wc -l)
[ "$n" -eq 3 ]
ok $? "$n report files after a retry, want the same 3 names"
d0=$(grep -l "^Subject: Report Domain: d0.example" mail/*)
grep -q "^To: dmarc@d0.example,$" $d0 && grep -q "^ agg@reports.example.net$" $d0
ok $? "the mail for d0.example does not go to both authorized addresses"
d1=$(grep -l "^Subject: Report Domain: d1.example" mail/*)
! grep -q "agg@reports.example.net" $d1
ok $? "an unauthorized external destination got a report"
grep -q "d1.example: rua mailto:agg@reports.example.net dropped: external destination not authorized" S.err
ok $? "the dropped destination is not explained"
grep -q "^ Submitter: example.org$" $d0 && grep -q "^ Report-ID: <[0-9a-f]*@example.org>$" $d0
ok $? "the Subject is not the RFC 9990 one"
# the attachment is the report file
name=$(sed -n 's/^ filename="\(.*\)"$/\1/p' $d0)
sed -n '/^Content-Transfer-Encoding: base64$/,/^--/p' $d0 |
	sed '1,/^$/d;/^--/d' | base64 -d >att.gz
cmp -s att.gz "out4/$name"
ok $? "the attachment differs from out4/$name"
[ -e s4/processed/2023-11-14.mx1.example.org.jsonl ]
ok $? "a successful send did not move the spool file to processed/"
"$am" report --spool s4 --out out4 $common --send \
	--sendmail "$tmp/capture.sh" >T.out 2>T.err
ok $? "a run with nothing to do failed"
n=$(ls mail | wc -l)
[ "$n" -eq 2 ]
ok $? "a third run sent again"

# --- a run that ends between claim and processed/ (it could not move its
# files there; as if it had died) is recovered by the next run: nothing
# sent twice, nothing lost ---
mkdir s6 out6 mail6
"$gen" s6 mx1.example.org 300 3 10 $day 7 >/dev/null || exit 1
: >s6/processed		# not a directory: the move to processed/ fails
printf '#!/bin/sh\ncat >"%s/mail6/$$"\n' "$tmp" >capture6.sh
chmod +x capture6.sh
"$am" report --spool s6 --out out6 $common --zone zone --send \
	--sendmail "$tmp/capture6.sh" >R1.out 2>R1.err
sent=$(ls mail6 | wc -l)
n=$(ls s6 | grep -c '\.claimed\.')
[ "$sent" -gt 0 ] && [ "$n" -eq 1 ]
ok $? "the first run did not send ($sent) and stay claimed ($n): $(cat R1.err)"
rm s6/processed
"$am" report --spool s6 --out out6 $common --zone zone --send \
	--sendmail "$tmp/capture6.sh" >R2.out 2>R2.err
ok $? "the run after it failed: $(cat R2.err)"
n=$(ls mail6 | wc -l)
[ "$n" -eq "$sent" ]
ok $? "$n mails after the recovery, want the $sent of the first run"
grep -q "already sent" R2.out
ok $? "the recovered day's reports were not recognised as sent"
[ -e s6/processed/2023-11-14.mx1.example.org.jsonl ] &&
	[ "$(ls s6 | grep -c '\.claimed\.')" -eq 0 ]
ok $? "the recovered claim did not end in processed/"
sum=0
for f in out6/*.xml.gz; do
	n=$(zcat "$f" | xmllint --xpath \
		'sum(//*[local-name()="record"]/*[local-name()="row"]/*[local-name()="count"])' -)
	sum=$((sum + n))
done
[ "$sum" -eq 300 ] && [ "$(ls out6/*.xml.gz | wc -l)" -eq 3 ]
ok $? "after the recovery the reports count $sum of 300 messages"

# --- usage ---
"$am" report --help >/dev/null
ok $? "report --help"
"$am" report >/dev/null 2>&1
[ $? -eq 2 ]
ok $? "report without options does not exit 2"
"$am" report --spool "$tmp/nope" --out out4 $common >/dev/null 2>U.err
[ $? -eq 2 ] && grep -q "nope" U.err
ok $? "a missing spool dir is not a usage/I/O error naming it"
"$am" report --spool s4 --out out4 $common --period 2023-02-30 \
	>/dev/null 2>&1
[ $? -eq 2 ]
ok $? "a bad --period is accepted"

# --- figures (not asserted): one run over a 100,000-record spool ---
mkdir s5 out5
"$gen" s5 mx1.example.org 100000 50 500 $day 6 >gen.out || exit 1
/usr/bin/time -f "%e %M" -o time.out "$am" report --spool s5 --out out5 \
	$common --dry-run >/dev/null 2>&1
read -r secs kb <time.out
echo "figures: append $(cat gen.out); report over 100000 records:" \
	"$secs s, peak RSS $kb KB"

echo "$checks checks, $failed failed"
[ $failed -eq 0 ]
