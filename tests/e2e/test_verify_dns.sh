#!/bin/sh
# test_verify_dns.sh -- `authmilter verify --nameserver` against a DNS
# server that loses the first two queries (both tries of the first
# lookup): nsd on loopback (dns-server.sh) behind the fault proxy
# (dns_fault_proxy.py --drop-first 2). The first file may end in
# temperror; every later file is evaluated from fresh answers (the
# resolver asks again) and passes as the zone says.
# Without nsd or python3-dnspython: exit 77 (skip), or fail when CI=true.
set -u
. "${AUTHMILTER_SOURCE_ROOT:?}/tests/e2e/lib.sh"
need nsd
need drill
/usr/bin/python3 -c 'import dns.message' 2>/dev/null ||
	unavailable "python3-dnspython is missing (packaging/install-deps.sh)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/authmilter-vd.XXXXXX")
proxy=
cleanup() {
	[ -n "$proxy" ] && kill "$proxy" 2>/dev/null && wait "$proxy" 2>/dev/null
	sh "$e2e/dns-server.sh" stop "$dir/dns" >/dev/null 2>&1
	rm -rf "$dir"
}
trap cleanup EXIT

mkdir "$dir/dns"
port=
for try in 1 2 3 4 5; do
	p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000 ))
	if sh "$e2e/dns-server.sh" start "$dir/dns" "$p" \
	    "$src/keys/demo/demo.zone" >"$dir/dns.log" 2>&1; then
		port=$p
		break
	fi
done
[ -n "$port" ] || { cat "$dir/dns.log"; echo "nsd did not start"; exit 1; }
/usr/bin/python3 "$e2e/dns_fault_proxy.py" --upstream "$port" \
    --port-file "$dir/proxy.port" --log "$dir/proxy.log" --drop-first 2 &
proxy=$!
i=0
while [ ! -s "$dir/proxy.port" ]; do
	i=$((i + 1))
	[ $i -le 100 ] && kill -0 "$proxy" 2>/dev/null ||
	    { echo "the DNS fault proxy did not start"; exit 1; }
	sleep 0.05
done
pport=$(cat "$dir/proxy.port")

# one message signed by example.com (test-only demo key), three files
install -m 0600 "$src/keys/demo/demo-rsa.private" "$dir/key"
printf 'From: User <user@example.com>\r\nTo: rcpt@example.net\r\nSubject: t\r\nDate: Mon, 23 Nov 2026 12:00:00 +0000\r\nMessage-ID: <t@example.com>\r\n\r\nHello.\r\n' \
    >"$dir/m.eml"
"$am" sign -d example.com -s demo-rsa -k "$dir/key" "$dir/m.eml" \
    >"$dir/1.eml" || exit 1
cp "$dir/1.eml" "$dir/2.eml"
cp "$dir/1.eml" "$dir/3.eml"

# default per-try timeout (5 s): the two dropped tries take 10 s
"$am" verify --nameserver "127.0.0.1@$pport" --ip 192.0.2.25 \
    --mail-from user@example.com --json "$dir/1.eml" "$dir/2.eml" \
    "$dir/3.eml" >"$dir/out" 2>"$dir/err"
st=$?
cat "$dir/out" "$dir/err"
cat "$dir/proxy.log"
line() { sed -n "${1}p" "$dir/out"; }
[ "$(grep -c " drop " "$dir/proxy.log")" -eq 2 ]
check $? "the proxy dropped two queries"
grep -q " forward " "$dir/proxy.log"
check $? "then the resolver asked again"
line 1 | grep -q '"result":"temperror"'
check $? "first file: temperror (its first lookup was lost)"
for n in 2 3; do
	line $n | grep -q '"dkim":\[{"result":"pass"' &&
	    line $n | grep -q '"spf":{"evaluated":true,"result":"pass"' &&
	    line $n | grep -q '"dmarc":{"result":"pass"' &&
	    ! line $n | grep -q temperror
	check $? "file $n: dkim, spf and dmarc pass"
done
line 1 | grep -q '"action":{"action":"accept","why":"temperror"'
check $? "first file: accepted (OnDNSError accept, the default)"
[ $st -eq 0 ]
check $? "exit status 0 (every file accepted: the action)"
[ $fail -eq 0 ]
