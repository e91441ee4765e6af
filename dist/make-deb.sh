#!/bin/bash
# dist/make-deb.sh - `make deb`: builds heaptrace_VERSION_ARCH.deb with
# dpkg-buildpackage from a copy of the tree (its git-tracked files as they are
# in the work tree), in a temporary directory, so the tree and its build
# directories are left as they were. The .deb goes into $DEB_DIR.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
: "${DEB_DIR:?DEB_DIR must name the directory for the .deb}"
version=$(cat "$top/VERSION")
for tool in dpkg-buildpackage dh git; do
	command -v "$tool" >/dev/null || {
		echo "make deb: $tool is missing: install debhelper, dpkg-dev and git" \
			"(scripts/install-deps.sh)" >&2
		exit 1
	}
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/heaptrace-deb.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
src=$tmp/heaptrace-$version
mkdir -p "$src"
(cd "$top" && git ls-files -z | tar --null -T - -cf -) | tar -xf - -C "$src"

# The changelog's version is VERSION's: one place says the version.
# Its date: the last commit's, so that two builds of one tree are the same.
date=$(cd "$top" && git log -1 --format=%cD 2>/dev/null || date -R)
cat >"$src/debian/changelog" <<CHANGELOG
heaptrace ($version) unstable; urgency=medium

  * heaptrace $version.

 -- heaptrace maintainers <heaptrace@localhost>  $date
CHANGELOG

# The copy has no git history: the man page's date comes from here.
export MAN_DATE
MAN_DATE=$(cd "$top" && git log -1 --format=%cs 2>/dev/null || date -u +%F)
(cd "$src" && dpkg-buildpackage -b -us -uc -j2) >"$tmp/build.log" 2>&1 || {
	tail -n 40 "$tmp/build.log" >&2
	echo "make deb: dpkg-buildpackage failed (the last lines above)" >&2
	exit 1
}
mkdir -p "$DEB_DIR"
deb=$(ls "$tmp"/heaptrace_"$version"_*.deb)
cp "$deb" "$DEB_DIR/"
echo "make deb: $DEB_DIR/$(basename "$deb")"
