#!/bin/sh
# test_postfix.sh -- end to end: a private Postfix (postfix-instance.sh)
# with authmilter as smtpd_milters and non_smtpd_milters on an inet
# socket, nsd serving the test zones (dns-server.sh), an smtp-sink
# collecting what Postfix delivers. Checks:
#   - SMTP from an internal client (127.0.0.1) and Postfix's sendmail
#     (non_smtpd_milters) both arrive signed, and dkimpy verifies them;
#   - inbound from an external client (127.0.0.5) with a valid signature
#     gets one A-R with dkim=pass and dmarc=pass; a forged A-R with our
#     authserv-id is gone;
#   - p=reject failing mail gets 550 at the SMTP level, p=quarantine
#     lands in the hold queue; the spool has their records;
#   - a DMARC failure for a domain with ruf= leaves a failure record;
#     `authmilter report --failures` sends the report through Postfix's
#     sendmail, our milter signs it on the way out (non_smtpd_milters),
#     and it reaches the sink with a DKIM signature dkimpy verifies;
#   - with the DNS server stopped mail is still accepted, temperror.
# postfix-instance.sh runs under bash (it probes ports with /dev/tcp).
# Needs root (Postfix). Exit 77 (skip) when a component is missing,
# unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
pf_need
/usr/bin/python3 -c 'import dkim' 2>/dev/null || need python3-dkim

# a random high port that nothing listens on (TCP or UDP) right now
port() {
	sh "$e2e/free-port.sh"
}

pf_setup authmilter-e2e
mkdir "$dir/spool"

pf_dns_start

install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/demo-rsa.private"
mport=$(port)
{
	pf_conf "$mport"
	cat <<EOF
SpoolDir $dir/spool
FailureReports yes
FailureReportsSentBy dmarc-failures@example.com
LogLevel debug
EOF
} >"$dir/authmilter.conf"
pf_milter_start

smtp=$(port)
sink=$(port)
bash "$e2e/postfix-instance.sh" start "$dir/pf" "$smtp" "$sink" \
    "inet:127.0.0.1:$mport" || { echo "postfix did not start" >&2; exit 1; }

dkimpy() {
	/usr/bin/python3 "$src/tests/milter/dkimpy_verify.py" "$dnsport" "$1"
}

# 1. internal client over SMTP: signed
send 127.0.0.1 user@example.com "$(msg internal user@example.com)" >/dev/null
out=$(delivered internal)
check $? "internal SMTP message delivered"
sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$out" | grep -q 'd=example.com;'
check $? "internal SMTP message signed (d=example.com)"
dkimpy "$out" >/dev/null
check $? "dkimpy verifies the internal SMTP message"

# 2. Postfix's sendmail (non_smtpd_milters): signed
bash "$e2e/postfix-instance.sh" sendmail "$dir/pf" -f user@example.com \
    rcpt@example.net <"$(msg sendmail user@example.com)"
out=$(delivered sendmail)
check $? "sendmail message delivered"
grep -qi '^DKIM-Signature:' "$out"
check $? "sendmail message signed (local submission)"
dkimpy "$out" >/dev/null
check $? "dkimpy verifies the sendmail message"

# 3. inbound from an external client: the signed internal message again,
# with a forged A-R claiming our authserv-id
signed=$dir/internal.out
{
	printf 'Authentication-Results: mx.test.example; dkim=pass; dmarc=pass\r\n'
	sed -e '/^Received:/,/^[^ \t]/{/^Received:/d;/^[ \t]/d}' \
	    -e 's/^X-Test: internal/X-Test: inbound/' "$signed"
} >"$dir/inbound.eml"
r=$(send 127.0.0.5 user@example.com "$dir/inbound.eml")
check $? "inbound message accepted ($r)"
out=$(delivered inbound)
check $? "inbound message delivered"
n=$(grep -ci '^Authentication-Results: mx.test.example' "$out")
[ "$n" = 1 ]
check $? "exactly one A-R with our authserv-id (got $n)"
sed -n '/^Authentication-Results: mx.test.example/,/^[^ \t]/p' "$out" |
    tr -d '\r\n\t' >"$dir/ar"
grep -q 'dkim=pass header.d=example.com' "$dir/ar"
check $? "dkim=pass in our A-R"
grep -q 'spf=' "$dir/ar" && grep -q 'dmarc=pass' "$dir/ar"
check $? "spf= and dmarc=pass in our A-R"
grep -q 'mx.test.example; dkim=pass; dmarc=pass' "$out"
[ $? != 0 ]
check $? "the forged A-R is gone"

# 4. p=reject: 550 at the SMTP level, not delivered
r=$(send 127.0.0.5 x@reject.example "$(msg reject x@reject.example)")
[ $? = 5 ] && echo "$r" | grep -q '^550 '
check $? "p=reject failure gets 550 ($r)"
echo "$r" | grep -q 'reject.example'
check $? "the 550 names the policy domain"

# 5. p=quarantine: accepted into the hold queue
r=$(send 127.0.0.5 x@quarantine.example \
    "$(msg quarantine x@quarantine.example)")
check $? "p=quarantine failure accepted ($r)"
i=0
while [ -z "$(ls "$dir/pf/queue/hold" 2>/dev/null)" ] && [ $i -lt 50 ]; do
	i=$((i + 1))
	sleep 0.1
done
[ -n "$(ls "$dir/pf/queue/hold" 2>/dev/null)" ]
check $? "p=quarantine message is in the hold queue"

# the spool: one record per message evaluated with a DMARC record
n=$(cat "$dir/spool/"*.jsonl 2>/dev/null | wc -l)
[ "$n" -ge 3 ]
check $? "spool holds the evaluated messages' records ($n)"

# 6. failure reports: ruf.example (p=reject, ruf=) fails; the report goes
# out through Postfix, signed by our milter, to the sink
r=$(send 127.0.0.5 x@ruf.example "$(msg ruf x@ruf.example)")
[ $? = 5 ]
check $? "ruf.example failure rejected ($r)"
ls "$dir/spool/"failure.*.jsonl >/dev/null 2>&1
check $? "a failure record in the spool"
"$am" report --failures --config "$dir/authmilter.conf" \
    --sendmail "bash $e2e/postfix-instance.sh sendmail $dir/pf -t -oi" \
    --now $(($(date +%s) + 200)) >"$dir/failures.log" 2>&1
check $? "report --failures hands the report to Postfix" \
    "$(cat "$dir/failures.log")"
# the original's header section, with its X-Test, is in the report
out=$(delivered ruf)
check $? "the failure report reached the sink"
grep -q '^Content-Type: multipart/report; report-type=feedback-report;' "$out"
check $? "it is an ARF report"
sed -n '/^DKIM-Signature:/,/^[^ \t]/p' "$out" | grep -q 'd=example.com;'
check $? "signed by our milter on the way out (d=example.com)"
dkimpy "$out" >/dev/null
check $? "dkim=pass: dkimpy verifies the report as delivered"
/usr/bin/python3 "$src/tests/vectors/failure/check_arf.py" "$out" \
    --to failures@ruf.example --expect Reported-Domain=ruf.example \
    --expect Source-IP=127.0.0.5 --expect Auth-Failure=dmarc \
    --inner-has "X-Test: ruf" --transit >"$dir/check_arf.log" 2>&1
check $? "the delivered report parses with Python's email package" \
    "$(cat "$dir/check_arf.log")"

# 7. DNS down: still accepted, temperror recorded
sh "$e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
r=$(send 127.0.0.5 x@dnsdown.example "$(msg dnsdown x@dnsdown.example)")
check $? "DNS down: accepted ($r)"
out=$(delivered dnsdown)
check $? "DNS down: delivered"
sed -n '/^Authentication-Results: mx.test.example/,/^[^ \t]/p' "$out" |
    tr -d '\r\n\t' | grep -q 'temperror'
check $? "DNS down: temperror recorded"

pf_finish
