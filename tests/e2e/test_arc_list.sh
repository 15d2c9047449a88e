#!/bin/sh
# test_arc_list.sh -- end to end, the mailing-list topology of ARC (RFC
# 8617) with a real Postfix (postfix-instance.sh), authmilter as its
# milter, nsd serving the test zones and an smtp-sink for what leaves:
#   1. author.example (p=reject) signs a message; it arrives from outside
#      (127.0.0.5) and is delivered with our A-R (dkim=pass, dmarc=pass),
#      not sealed;
#   2. the "list software" (this script) tags the Subject, adds a footer
#      and re-injects it through Postfix, once over SMTP from 127.0.0.1
#      (ARCSealHosts) and once with Postfix's sendmail (the
#      non_smtpd_milters path): each copy leaves with an ARC set on top,
#      sealed after the change (the AMS covers the changed Subject and
#      body), its AAR the A-R of the arrival;
#   3. dkimpy validates the chain of what left; the author's DKIM
#      signature does not verify any more; a receiver that trusts the
#      list (verify --trusted-arc-sealer) does not apply author.example's
#      p=reject, one that does not rejects it.
# Needs root (Postfix). Exit 77 (skip) when a component is missing,
# unless CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
pf_need
/usr/bin/python3 -c 'import dkim, authres' 2>/dev/null ||
	need python3-authres

pf_setup authmilter-arc

pf_dns_start

install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/demo-rsa.private"
mport=$(sh "$e2e/free-port.sh")
{
	pf_conf "$mport"
	cat <<EOF
ARCDomain forwarder.example
ARCSelector arc
ARCKeyFile $dir/demo-rsa.private
ARCSealHosts 127.0.0.1, localhost
LogLevel debug
EOF
} >"$dir/authmilter.conf"
pf_milter_start

smtp=$(sh "$e2e/free-port.sh")
sink=$(sh "$e2e/free-port.sh")
bash "$e2e/postfix-instance.sh" start "$dir/pf" "$smtp" "$sink" \
    "inet:127.0.0.1:$mport" || { echo "postfix did not start" >&2; exit 1; }

# field NAME FILE: the field NAME of FILE, unfolded
field() {
	sed -n "/^$1:/,/^[^ \t]/p" "$2" | sed '$d' | tr -d '\r\n\t'
}

# 1. the author's message arrives from outside
{
	printf 'From: Author <a@author.example>\r\nTo: list@forwarder.example\r\n'
	printf 'Subject: hello list\r\nX-Test: arc-orig\r\n'
	printf 'Date: Mon, 23 Nov 2026 12:00:00 +0000\r\n'
	printf 'Message-ID: <arc-e2e@author.example>\r\n\r\nHello list.\r\n'
} >"$dir/orig.eml"
"$am" sign -d author.example -s demo-rsa -k "$dir/demo-rsa.private" \
    "$dir/orig.eml" >"$dir/orig.signed"
check $? "the author signs"
r=$(/usr/bin/python3 "$e2e/smtp_send.py" "$smtp" 127.0.0.5 \
    a@author.example list@forwarder.example "$dir/orig.signed")
check $? "arrival accepted ($r)"
arrived=$(delivered arc-orig)
check $? "arrival delivered to the list"
ar=$(field 'Authentication-Results' "$arrived")
echo "$ar" | grep -q 'dkim=pass header.d=author.example' &&
    echo "$ar" | grep -q 'dmarc=pass'
check $? "our A-R on arrival: dkim and dmarc pass" "$ar"
! grep -q '^ARC-Seal:' "$arrived"
check $? "not sealed on arrival"

# 2. the list changes it (Subject tag, footer) and re-injects it
listed() {
	sed -e "s/^Subject: hello list/Subject: [list] hello list/" \
	    -e "s/^X-Test: arc-orig/X-Test: $1/" "$arrived"
	printf -- '-- \r\nthe list footer\r\n'
}
listed arc-smtp >"$dir/listed-smtp.eml"
r=$(/usr/bin/python3 "$e2e/smtp_send.py" "$smtp" 127.0.0.1 \
    list-bounces@forwarder.example member@rcpt.example \
    "$dir/listed-smtp.eml")
check $? "re-injection over SMTP accepted ($r)"
listed arc-sendmail | tr -d '\r' >"$dir/listed-sendmail.eml"
bash "$e2e/postfix-instance.sh" sendmail "$dir/pf" \
    -f list-bounces@forwarder.example member@rcpt.example \
    <"$dir/listed-sendmail.eml"
check $? "re-injection with sendmail accepted"

for how in smtp sendmail; do
	out=$(delivered "arc-$how")
	check $? "$how: the list's copy left"
	# the second field: the first is the smtp-sink's Received
	awk '/^[^ \t]/ { if (++n == 2) { print; exit } }' "$out" |
	    grep -q '^ARC-Seal:'
	check $? "$how: the ARC set is on top (below the sink's Received)"
	seal=$(field 'ARC-Seal' "$out")
	echo "$seal" | grep -q 'i=1;' && echo "$seal" | grep -q 'cv=none' &&
	    echo "$seal" | grep -q 'd=forwarder.example'
	check $? "$how: ARC-Seal i=1 cv=none d=forwarder.example" "$seal"
	aar=$(field 'ARC-Authentication-Results' "$out")
	echo "$aar" | grep -q '^ARC-Authentication-Results: i=1; mx.test.example;' &&
	    echo "$aar" | grep -q 'dkim=pass header.d=author.example' &&
	    echo "$aar" | grep -q 'dmarc=pass'
	check $? "$how: the AAR is the A-R of the arrival" "$aar"
	grep -q '^Subject: \[list\] hello list' "$out" &&
	    grep -q '^the list footer' "$out"
	check $? "$how: the change is in what left"
	/usr/bin/python3 "$src/tests/milter/dkimpy_arc_verify.py" "$dnsport" \
	    "$out" 1 >"$dir/dkimpy-$how.log" 2>&1
	check $? "$how: dkimpy validates the chain (sealed after the change)" \
	    "$(cat "$dir/dkimpy-$how.log")"
	! /usr/bin/python3 "$src/tests/milter/dkimpy_verify.py" "$dnsport" \
	    "$out" >/dev/null 2>&1
	check $? "$how: the author's DKIM signature no longer verifies"
	v=$("$am" verify --nameserver "127.0.0.1@$dnsport" \
	    --authserv-id mx.rcpt.example --ip 192.0.2.200 \
	    --mail-from list-bounces@forwarder.example \
	    --trusted-arc-sealer forwarder.example "$out" 2>/dev/null |
	    tr -d '\n\t')
	echo "$v" | grep -q 'arc=pass' &&
	    echo "$v" | grep -q 'disposition=none override=trusted_forwarder' &&
	    echo "$v" | grep -q 'Action: accept'
	check $? "$how: a receiver trusting the list does not reject" "$v"
	v=$("$am" verify --nameserver "127.0.0.1@$dnsport" \
	    --authserv-id mx.rcpt.example --ip 192.0.2.200 \
	    --mail-from list-bounces@forwarder.example "$out" 2>/dev/null |
	    tr -d '\n\t')
	echo "$v" | grep -q 'disposition=reject' &&
	    echo "$v" | grep -q 'Action: reject 550 5.7.1'
	check $? "$how: one that does not trust it rejects" "$v"
done
grep -q 'sealed i=1 cv=none' "$dir/milter.log"
check $? "the log lines say sealed"

pf_finish
