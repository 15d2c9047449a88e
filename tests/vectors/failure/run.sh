#!/bin/sh
# run.sh -- DMARC failure reports offline, end to end: `authmilter verify
# --failure-reports` writes the failure records, `authmilter report
# --failures` turns them into ARF mail through a capturing sendmail, and
# check_arf.py (Python's email package) checks each report: every field
# RFC 9991 marks REQUIRED, values matching the message, redaction, the
# header section staying inside its part. Also: a record is sent once; a
# failed sendmail leaves it for the next run; an external destination
# whose check met a DNS error is tried again next run and then sent; the
# policy-domain rate limit; no records for psd=y or for reports.
#   run.sh AUTHMILTER
set -u
am=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
py=/usr/bin/python3
failed=0
checks=0

ok() {	# ok STATUS MESSAGE
	checks=$((checks + 1))
	if [ "$1" -ne 0 ]; then
		failed=$((failed + 1))
		echo "FAIL: $2"
	else
		echo "ok $checks - $2"
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
mkdir spool mail
install -m 0600 "$top/keys/demo/demo-rsa.private" demo-rsa.private
cp "$here/failure.zone" faulty.zone
# the same zone once slow.example's DNS works and it agrees
sed 's/^;@fault timeout \(example.com._report._dmarc.slow.example\) TXT$/\1. IN TXT "v=DMARC1"/' \
    "$here/failure.zone" >good.zone
cat >cap.sh <<'CAP'
#!/bin/sh
n=$(ls "$(dirname "$0")/mail" | wc -l)
cat >"$(dirname "$0")/mail/report.$n"
CAP
chmod +x cap.sh
cat >c.conf <<CONF
SpoolDir $tmp/spool
AuthservID mx.receiver.example
FailureReports yes
FailureReportsSentBy dmarc-failures@receiver.example
CONF
cp c.conf bodies.conf
echo "FailureReportsBodies 1000" >>bodies.conf

T0=1800000000
# msg FILE FROM SUBJECT BODY
msg() {
	printf 'From: Someone <%s>\r\nTo: rcpt@receiver.example\r\n' "$2" >"$1"
	printf 'Subject: %s\r\nMessage-ID: <%s@example.com>\r\n\r\n%s\r\n' \
	    "$3" "$(basename "$1")" "$4" >>"$1"
}
verify() {	# verify NOW CONF FILE [more verify args]
	now=$1 conf=$2 f=$3
	shift 3
	"$am" verify --config "$conf" --zone faulty.zone --now "$now" \
	    --ip 203.0.113.9 --mail-from someone@example.com \
	    --rcpt-to '<rcpt@receiver.example>' --failure-reports \
	    --spool spool "$@" "$f" >/dev/null 2>>verify.log
}
report() {	# report NOW ZONE [more args]: the sender, its log in run.log
	now=$1 zone=$2
	shift 2
	"$am" report --failures --config c.conf --zone "$zone" \
	    --sendmail "$tmp/cap.sh" --now "$now" "$@" >>run.log 2>&1
}
mails() { ls mail | wc -l; }
check() {	# check N ARGS: check_arf.py on mail/report.N
	n=$1
	shift
	"$py" "$here/check_arf.py" "mail/report.$n" "$@"
}

# 1. an unsigned message whose SPF fails: one report to the verified ruf
# addresses; the one whose check met a DNS error waits for the next run
msg m1.eml someone@example.com "first" "hello"
verify $T0 c.conf m1.eml
[ $? = 4 ]
ok $? "verify: quarantine for a DMARC failure"
ls spool/failure.*.jsonl >/dev/null 2>&1
ok $? "verify --failure-reports wrote a failure record"
report $((T0 + 200)) faulty.zone
[ $? = 1 ]
ok $? "report --failures: 1 (something left for the next run)"
[ "$(mails)" = 1 ]
ok $? "one report mail"
check 0 --to ruf@example.com --to ext@reports.example \
    --expect Auth-Failure=dmarc --expect "Identity-Alignment=dkim, spf" \
    --expect Source-IP=203.0.113.9 --expect Reported-Domain=example.com \
    --expect Delivery-Result=policy --expect Reporting-MTA="dns; mx.receiver.example" \
    --expect 'SPF-DNS=txt : example.com : "v=spf1 ip4:192.0.2.0/24 -all"' \
    --absent DKIM-Domain --inner-has "Subject: first" \
    --inner-has "@example.com>" --nowhere someone@ --nowhere rcpt@
ok $? "the report parses and carries what RFC 9991 requires, redacted"
grep -q "noauth@other.example dropped: external destination not authorized" run.log
ok $? "an external destination without authorization is dropped"
grep -q "left for the next run (external destination not verified" run.log
ok $? "a DNS error leaves the external destination for the next run"

# 2. the next run: slow.example's DNS works now: sent there, only there
report $((T0 + 400)) good.zone
ok $? "the next run succeeds"
[ "$(mails)" = 2 ]
ok $? "the retried destination gets its report"
check 1 --to slow@slow.example --expect Reported-Domain=example.com
ok $? "the retry went to the retried destination only"

# 3. and nothing is ever sent twice
report $((T0 + 2000)) good.zone
ok $? "a third run succeeds"
[ "$(mails)" = 2 ]
ok $? "a third run sends nothing"
ls spool/failure.*.jsonl >/dev/null 2>&1
[ $? != 0 ]
ok $? "the reported failure files are gone"
[ -z "$(ls spool/processed 2>/dev/null)" ]
ok $? "nothing of them is kept in processed/"

# 4. an aligned DKIM signature that fails, bodies enabled
T1=$((T0 + 10000))
msg m4.eml someone@example.com "signed" "see http://phish.example/login"
"$am" sign -d example.com -s demo-rsa -k demo-rsa.private m4.eml >m4s.eml
ok $? "sign the DKIM message"
sed -i 's/phish.example/phish2.example/' m4s.eml
verify $T1 bodies.conf m4s.eml
report $((T1 + 200)) good.zone
[ "$(mails)" = 3 ]
ok $? "a report for the failed signature"
check 2 --to ruf@example.com --to ext@reports.example --to slow@slow.example \
    --expect DKIM-Domain=example.com --expect DKIM-Selector=demo-rsa \
    --expect DKIM-Identity=@example.com --expect "Identity-Alignment=dkim, spf" \
    --original message/rfc822 --inner-has "see hxxp://phish2.example/login"
ok $? "DKIM-Domain/Identity/Selector, the body as message/rfc822, defanged"

# 5. header injection in the Subject and the From stays in the copy
T2=$((T1 + 10000))
printf 'From: "x\r\n --=_authmilter_arf_0_q" <someone@example.com>\r\n' >m5.eml
printf 'To: rcpt@receiver.example\r\nSubject: hi\rBcc: victim@evil.example\r\n' >>m5.eml
printf '\r\n\r\nContent-Type: text/html\r\n\r\nbody\r\n' >>m5.eml
verify $T2 c.conf m5.eml
report $((T2 + 200)) good.zone --no-redact
[ "$(mails)" = 4 ]
ok $? "a report for the injection attempt"
check 3 --to ruf@example.com --to ext@reports.example --to slow@slow.example \
    --inner-has "Subject: hi Bcc: victim@evil.example" \
    --inner-has=' --=_authmilter_arf_0_q'
ok $? "the injected fields stay inside the attached header section"

# 6. a failed sendmail leaves the record; the next run sends it, once
T3=$((T2 + 10000))
msg m6.eml someone@example.com "sixth" "x"
verify $T3 c.conf m6.eml
"$am" report --failures --config c.conf --zone good.zone \
    --sendmail "cat >/dev/null; exit 75" --now $((T3 + 200)) >>run.log 2>&1
[ $? = 1 ]
ok $? "a failed sendmail: exit 1"
[ "$(mails)" = 4 ] && ls spool/failure.*.jsonl >/dev/null 2>&1
ok $? "a failed sendmail: nothing sent, the record is back in the spool"
report $((T3 + 400)) good.zone
[ "$(mails)" = 5 ]
ok $? "the next run sends it"
report $((T3 + 600)) good.zone
[ "$(mails)" = 5 ]
ok $? "and the one after sends nothing"

# 7. the policy-domain rate limit (default 1 per 10 minutes)
T4=$((T3 + 10000))
msg m7a.eml someone@example.com "seventh a" "x"
msg m7b.eml someone@example.com "seventh b" "y"
verify $T4 c.conf m7a.eml
verify $T4 c.conf m7b.eml
report $((T4 + 200)) good.zone
[ "$(mails)" = 6 ]
ok $? "two failures of one domain in ten minutes: one report"
tail -1 run.log | grep -q "suppressed: 1 by the policy-domain limit"
ok $? "the suppressed one is counted in the log"

# 8. no record for psd=y, nor for a report
T5=$((T4 + 10000))
msg m8.eml x@psd.example "psd" "x"
"$am" verify --config c.conf --zone good.zone --now $T5 --ip 203.0.113.9 \
    --failure-reports --spool spool m8.eml >/dev/null 2>verify8.log
grep -q "no failure record: the policy record has psd=y" verify8.log
ok $? "psd=y: no failure record"
msg m9.eml someone@example.com "Report Domain: example.com Submitter: x Report-ID: <1>" "x"
verify $T5 c.conf m9.eml 2>/dev/null
grep -q "no failure record: the message is a DMARC aggregate report" verify.log
ok $? "an aggregate report: no failure record"

if [ $failed -ne 0 ]; then
	echo "--- run.log"; cat run.log
	echo "--- verify.log"; cat verify.log
fi
echo "$checks checks, $failed failed"
[ $failed -eq 0 ]
