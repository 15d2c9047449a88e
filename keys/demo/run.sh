#!/bin/sh
# run.sh -- the Quick start's first command: install what is missing, build
# authmilter, sign the demo message with the demo keys (rsa-sha256 and
# ed25519-sha256), then verify the signed message offline against the demo
# zone (DKIM, SPF and DMARC) and print the Authentication-Results header
# it would add.
#
# TEST-ONLY keys: demo-rsa.private and demo-ed.private are published in
# this repository. Never use them for a real domain.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
sh packaging/install-deps.sh
[ -d build ] || meson setup build >/dev/null
ninja -C build >/dev/null
am=build/src/cli/authmilter
demo=keys/demo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# git does not keep file modes: the keys must not be readable by others
for k in demo-rsa demo-ed; do
	install -m 0600 "$demo/$k.private" "$work/$k.private"
done

$am sign -d example.com -s demo-rsa -k "$work/demo-rsa.private" \
	"$demo/message.eml" >"$work/rsa.eml"
$am sign -d example.com -s demo-ed -k "$work/demo-ed.private" \
	"$work/rsa.eml" >"$work/signed.eml"
echo "== signed message (headers)"
sed -n '1,/^\r\{0,1\}$/p' "$work/signed.eml" | tr -d '\r'
echo "== authmilter verify: DKIM, SPF (client 192.0.2.25) and DMARC," \
	"DNS from $demo/demo.zone"
$am verify --zone "$demo/demo.zone" --authserv-id mx.example.net \
	--ip 192.0.2.25 --helo mail.example.com \
	--mail-from alice@example.com "$work/signed.eml"
