#!/bin/sh
# keys.sh -- authmilter keygen and keycheck, through the binary: round
# trips for RSA and Ed25519 against a zone built from the generated .txt,
# and one case per finding keycheck must report (mismatch, revoked, bad
# syntax, 512-bit key, tempfail, NXDOMAIN, NODATA, two records, t=y).
# Usage: keys.sh path/to/authmilter
set -u
am=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 2
passed=0
failed=0

pass() { passed=$((passed + 1)); echo "ok - $1"; }
fail() { failed=$((failed + 1)); echo "FAIL - $1${2:+: $2}"; }

# expect NAME STATUS PATTERN CMD...: CMD exits with STATUS and its output
# holds PATTERN (a grep -E expression)
expect() {
	name=$1 want=$2 pat=$3
	shift 3
	"$@" >out.txt 2>&1
	got=$?
	if [ "$got" != "$want" ]; then
		fail "$name" "exit $got, want $want"; cat out.txt
	elif ! grep -Eq -- "$pat" out.txt; then
		fail "$name" "no \"$pat\" in output"; cat out.txt
	else
		pass "$name"
	fi
}

zone() { # zone FILE RECORD-LINES...: a zone for example.com
	f=$1
	shift
	{ printf '$ORIGIN example.com.\n$TTL 300\n@ IN A 192.0.2.1\n'
	  for l in "$@"; do printf '%s\n' "$l"; done; } >"$f"
}

mkdir k
# ---- round trips ----
for t in rsa ed25519; do
	expect "keygen $t" 0 "KeyTable" \
		"$am" keygen -d example.com -s "$t-sel" -t "$t" -D k
	cat k/"$t"-sel.txt >>k/all.txt
done
zone rt.zone "$(cat k/all.txt)"
expect "round trip rsa" 0 "^ok: the published key matches" \
	"$am" keycheck -d example.com -s rsa-sel -k k/rsa-sel.private --zone rt.zone
expect "round trip ed25519" 0 "^ok: the published key matches" \
	"$am" keycheck -d example.com -s ed25519-sel -k k/ed25519-sel.private \
	--zone rt.zone
expect "round trip rsa size" 0 "^ok: record parses: k=rsa, 2048 bits" \
	"$am" keycheck -d example.com -s rsa-sel --zone rt.zone
expect "ad bit reported" 0 "^info: .*not DNSSEC-validated" \
	"$am" keycheck -d example.com -s rsa-sel --zone rt.zone

# ---- one finding each, non-zero exit ----
"$am" keygen -d example.com -s other -D k >/dev/null
expect "mismatched key" 1 "^error: the published key does not match" \
	"$am" keycheck -d example.com -s rsa-sel -k k/other.private --zone rt.zone
expect "type mismatch" 1 "^error: the record is k=ed25519 but" \
	"$am" keycheck -d example.com -s ed25519-sel -k k/rsa-sel.private \
	--zone rt.zone
zone revoked.zone 'r._domainkey IN TXT "v=DKIM1; k=rsa; p="'
expect "revoked record" 1 "^error: .*key revoked" \
	"$am" keycheck -d example.com -s r -k k/rsa-sel.private --zone revoked.zone
zone syntax.zone 'r._domainkey IN TXT "v=DKIM1; k=rsa; p=MIIB; k"'
expect "syntax error" 1 "^error: .*syntax" \
	"$am" keycheck -d example.com -s r --zone syntax.zone
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:512 \
	-out k/small.private 2>/dev/null
chmod 600 k/small.private
p512=$(openssl pkey -in k/small.private -pubout -outform DER 2>/dev/null |
	openssl base64 -A)
zone small.zone "small._domainkey IN TXT \"v=DKIM1; k=rsa; p=$p512\""
expect "512-bit record" 1 "^error: .*too small \\(512 bits" \
	"$am" keycheck -d example.com -s small --zone small.zone
expect "512-bit private key" 1 "^error: .*small.private: RSA key of 512 bits" \
	"$am" keycheck -d example.com -s small -k k/small.private --zone small.zone
zone tempfail.zone "$(cat k/rsa-sel.txt)" \
	';@fault timeout rsa-sel._domainkey.example.com TXT'
expect "tempfail" 1 "^error: .*DNS lookup failed \\(temporary" \
	"$am" keycheck -d example.com -s rsa-sel -k k/rsa-sel.private \
	--zone tempfail.zone
expect "nxdomain" 1 "^error: .*does not exist \\(NXDOMAIN\\)" \
	"$am" keycheck -d example.com -s nosuch --zone rt.zone
zone nodata.zone 'x._domainkey IN A 192.0.2.2'
expect "nodata" 1 "^error: .*no TXT record \\(NODATA\\)" \
	"$am" keycheck -d example.com -s x --zone nodata.zone
zone two.zone "$(cat k/rsa-sel.txt)" \
	'rsa-sel._domainkey IN TXT "v=DKIM1; k=rsa; p="'
expect "two records" 1 "^error: .*has 2 TXT records" \
	"$am" keycheck -d example.com -s rsa-sel -k k/rsa-sel.private --zone two.zone
expect "private key missing" 1 "^error: .*nosuch.private" \
	"$am" keycheck -d example.com -s rsa-sel -k k/nosuch.private --zone rt.zone

# ---- flags ----
"$am" keygen -d example.com -s flags -D k --testing --strict \
	--hash-sha256 >/dev/null
zone flags.zone "$(cat k/flags.txt)"
expect "t=y is a warning, still usable" 0 "^warning: t=y" \
	"$am" keycheck -d example.com -s flags -k k/flags.private --zone flags.zone
expect "t=s reported" 0 "^info: t=s" \
	"$am" keycheck -d example.com -s flags --zone flags.zone
expect "h=sha256 reported" 0 "^ok: h=sha256" \
	"$am" keycheck -d example.com -s flags --zone flags.zone
zone sha1.zone "$(sed 's/h=sha256/h=sha1:sha256/' k/flags.txt)"
expect "h=sha1 warned" 0 "^warning: h=sha1:sha256 also allows sha1" \
	"$am" keycheck -d example.com -s flags --zone sha1.zone
if grep -q 'h=' k/rsa-sel.txt; then
	fail "no h= unless asked"
else
	pass "no h= unless asked"
fi
if grep -q 'h=rsa-sha256' k/flags.txt; then
	fail "h= is sha256, never rsa-sha256"
else
	pass "h= is sha256, never rsa-sha256"
fi
cp k/rsa-sel.private k/loose.private
chmod 644 k/loose.private
expect "group-readable key warned" 0 "^warning: .*loose.private" \
	"$am" keycheck -d example.com -s rsa-sel -k k/loose.private --zone rt.zone

# ---- keygen files ----
sum=$(cksum <k/rsa-sel.private)
expect "overwrite refused" 1 "refusing to overwrite" \
	"$am" keygen -d example.com -s rsa-sel -D k
if [ "$(cksum <k/rsa-sel.private)" = "$sum" ]; then
	pass "refused overwrite left the key"
else
	fail "refused overwrite left the key"
fi
expect "--force overwrites" 0 "Wrote" \
	"$am" keygen -d example.com -s rsa-sel -D k --force
if [ "$(cksum <k/rsa-sel.private)" != "$sum" ]; then
	pass "--force wrote a new key"
else
	fail "--force wrote a new key"
fi
(umask 000; "$am" keygen -d example.com -s open -D k >/dev/null)
mode=$(stat -c %a k/open.private)
if [ "$mode" = 600 ]; then
	pass "private key mode 0600 under umask 000"
else
	fail "private key mode 0600 under umask 000" "mode $mode"
fi
head -1 k/open.private | grep -q -- '-----BEGIN PRIVATE KEY-----' &&
	pass "PEM PKCS#8" || fail "PEM PKCS#8"
expect "4096-bit key" 0 "Wrote" \
	"$am" keygen -d example.com -s big -b 4096 -D k
long=$(grep -o '"[^"]*"' k/big.txt | awk '{ if (length($0) - 2 > m) m = length($0) - 2 } END { print m }')
if [ "$long" -le 255 ] && [ "$(grep -c '"' k/big.txt)" -ge 3 ]; then
	pass "4096-bit record split in strings of at most 255 bytes ($long)"
else
	fail "4096-bit record split in strings of at most 255 bytes" "$long"
fi
zone big.zone "$(cat k/big.txt)"
expect "4096-bit round trip" 0 "^ok: record parses: k=rsa, 4096 bits" \
	"$am" keycheck -d example.com -s big -k k/big.private --zone big.zone
expect "-b 512 refused" 2 "want 1024 to 4096" \
	"$am" keygen -d example.com -s tiny -b 512 -D k
expect "1024 bits warned" 0 "warning: 1024-bit RSA keys are weak" \
	"$am" keygen -d example.com -s weak -b 1024 -D k
expect "-b with ed25519 refused" 2 "RSA keys only" \
	"$am" keygen -d example.com -s edb -t ed25519 -b 2048 -D k
expect "-t dsa refused" 2 "want rsa or ed25519" \
	"$am" keygen -d example.com -s dsa -t dsa -D k
expect "-b 20x refused" 2 "want 1024 to 4096" \
	"$am" keygen -d example.com -s x -b 20x -D k
expect "no -d is a usage error" 2 "^usage: authmilter keygen" \
	"$am" keygen -s x -D k
expect "an unknown option is a usage error" 2 "^usage: authmilter keygen" \
	"$am" keygen -d example.com --no-such-option
expect "an argument is a usage error" 2 "^usage: authmilter keygen" \
	"$am" keygen -d example.com -s x -D k extra
expect "--help" 0 "^usage: authmilter keygen" "$am" keygen --help
month=$(date -u +%Y%m)
expect "default selector is the month" 0 "$month._domainkey.example.com" \
	"$am" keygen -d example.com -D k
expect "bad domain refused" 2 "not a valid domain" \
	"$am" keygen -d 'exa mple..com' -s x -D k
# the layout of keys/README.md: one directory per domain, made if missing
expect "a missing key directory is made" 0 "Made k/example.org \(mode 0700\)" \
	"$am" keygen -d example.org -s sel -D k/example.org
if [ "$(stat -c %a k/example.org)" = 700 ] && [ -f k/example.org/sel.private ]
then
	pass "key directory mode 0700, key inside"
else
	fail "key directory mode 0700, key inside" "$(ls -la k/example.org)"
fi
expect "only the last directory is made" 2 "No such file or directory" \
	"$am" keygen -d example.org -s sel -D k/no/such

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
