#!/bin/sh
# install-deps.sh -- install, with apt-get on Debian 12, everything needed
# to build authmilter and to run its whole test suite. Idempotent: when
# every package is present it changes nothing and makes no network call.
set -eu

packages="
	gcc clang clang-format llvm libclang-rt-14-dev pkg-config meson ninja-build
	libssl-dev openssl libldns-dev ldnsutils libjansson-dev
	libmilter-dev libpsl-dev libidn2-dev publicsuffix zlib1g-dev libxml2-dev
	libmicrohttpd-dev
	libxml2-utils
	python3 python3-dkim python3-authres python3-yaml python3-dnspython
	opendkim opendkim-tools opendmarc miltertest
	nsd unbound postfix knot prometheus
	valgrind mandoc procps iproute2 strace
	dpkg-dev debhelper groff-base man-db systemd
"

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f '${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	"install ok installed") ;;
	*) missing="$missing $p" ;;
	esac
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "install-deps.sh: missing packages:$missing; run as root" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Postfix: install the programs only; the tests write their own config
echo "postfix postfix/main_mailer_type select No configuration" |
	debconf-set-selections
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
