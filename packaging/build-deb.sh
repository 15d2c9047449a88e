#!/bin/sh
# build-deb.sh [OUTDIR] -- build the authmilter .deb from this source tree
# and leave it in OUTDIR (default: build-deb/ at the top of the tree).
#
# The top level of the tree holds no debian/ directory: this copies the
# tree (git's tracked and untracked-but-not-ignored files, so uncommitted
# work is built too; or, outside git, everything but build directories)
# to a temporary directory, puts packaging/debian there as debian/ and
# runs dpkg-buildpackage -us -uc -b. Needs dpkg-dev, debhelper and the
# build dependencies (packaging/install-deps.sh installs them all).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-"$top/build-deb"}
mkdir -p "$out"
out=$(cd "$out" && pwd)

for tool in dpkg-buildpackage dpkg-parsechangelog dh; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "build-deb.sh: $tool is missing (apt-get install dpkg-dev" \
			"debhelper)" >&2
		exit 1
	fi
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
src="$work/authmilter"
mkdir "$src"

cd "$top"
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		xargs -0 sh -c 'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh |
		tar -cf - -T - | tar -xf - -C "$src"
else
	tar -cf - --exclude='./build*' --exclude=./debian . |
		tar -xf - -C "$src"
fi
rm -rf "$src/debian"
cp -R packaging/debian "$src/debian"

# the package version is the project's: refuse to build a mismatch
project=$(sed -n "s/^[[:space:]]*version:[[:space:]]*'\([^']*\)'.*/\1/p" \
	meson.build | head -n 1)
package=$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)
if [ "$project" != "$package" ]; then
	echo "build-deb.sh: meson.build says version $project but" \
		"packaging/debian/changelog says $package" >&2
	exit 1
fi

cd "$src"
DEB_BUILD_OPTIONS="nocheck noddebs parallel=2" \
	dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1 || {
	tail -n 60 "$work/build.log" >&2
	echo "build-deb.sh: dpkg-buildpackage failed" >&2
	exit 1
}
for deb in "$work"/authmilter_*.deb; do
	cp "$deb" "$out/"
	echo "$out/$(basename "$deb")"
done
