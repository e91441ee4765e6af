#!/bin/bash
# The Debian package: `make deb` builds it with dpkg-buildpackage from a copy
# of the tree (the tree stays as it was); it holds the binary, the sampler,
# the man page, the units and the config as a conffile; installed with dpkg -i
# it runs (--version, a real trace through the packaged sampler, man finds its
# page); purged, it leaves nothing: no dpkg file list, no /etc/heaptrace, no
# state directory, no file of its own anywhere it put one.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp
for tool in dpkg-buildpackage dh git; do
	command -v $tool >/dev/null || _precondition_missing "$tool is not installed (scripts/install-deps.sh)"
done
# A heaptrace package of someone else's is not this test's to remove.
if dpkg-query -W -f='${Status}' heaptrace 2>/dev/null | grep -q 'installed'; then
	bail_out "a heaptrace package is already installed: dpkg --purge heaptrace first"
fi

# dpkg ACTION...: with a bounded wait for the dpkg lock (another apt may hold it).
dpkg_locked() {
	local tries=0
	while ! dpkg "$@" >"$T/dpkg.out" 2>&1; do
		grep -q 'lock' "$T/dpkg.out" && [ $((tries += 1)) -lt 60 ] || return 1
		sleep 1
	done
}
INSTALLED=0
purge_at_exit() {
	[ $INSTALLED = 1 ] && dpkg --purge heaptrace >/dev/null 2>&1
	_cleanup
}
trap purge_at_exit EXIT

# Build, and the tree is as it was: its tracked files, and none of what
# dpkg-buildpackage leaves beside a tree it builds in (its own build, debhelper's
# files, the packages in the parent directory). Untracked files are left out of
# the comparison: other runs may write profiles into the tree meanwhile.
status_before=$(git -C "$TOPDIR" status --porcelain -uno)
parent_before=$(ls "$TOPDIR/.." | grep -E '^heaptrace[_-].*\.(deb|buildinfo|changes)$')
run_bounded 600 make --no-print-directory -C "$TOPDIR" BUILD="$BUILD" deb DEB_DIR="$T/deb" \
	>"$T/make.out" 2>&1
is $? 0 "make deb exits 0" || diag "$(tail -n 30 "$T/make.out")"
is "$(git -C "$TOPDIR" status --porcelain -uno)" "$status_before" \
	"make deb leaves the tracked files as they were"
is "$(ls -d "$TOPDIR"/debian/{build,heaptrace,.debhelper,files,changelog,debhelper-build-stamp} \
	"$TOPDIR"/debian/*.substvars 2>/dev/null)" "" "make deb leaves no build product in debian/"
is "$(ls "$TOPDIR/.." | grep -E '^heaptrace[_-].*\.(deb|buildinfo|changes)$')" "$parent_before" \
	"make deb leaves no package beside the tree"
version=$(cat "$TOPDIR/VERSION")
DEB=$T/deb/heaptrace_${version}_amd64.deb
ok $([ -f "$DEB" ]; echo $?) "heaptrace_${version}_amd64.deb is built"
dpkg-deb -c "$DEB" | awk '{ print $NF }' | sed 's|^\./|/|' >"$T/contents"
for f in /usr/sbin/heaptrace /usr/lib/heaptrace/libheaptrace-sampler.so \
	/usr/share/man/man8/heaptrace.8.gz /lib/systemd/system/heaptrace.service \
	/lib/systemd/system/heaptrace@.service /etc/heaptrace/heaptrace.conf \
	/usr/share/bash-completion/completions/heaptrace; do
	ok $(grep -qx "$f" "$T/contents"; echo $?) "the package holds $f"
done
is "$(dpkg-deb -f "$DEB" Package Version | tr '\n' ' ')" "Package: heaptrace Version: $version " \
	"its name and VERSION's version"
is "$(dpkg-deb --ctrl-tarfile "$DEB" | tar -xOf - ./conffiles)" "/etc/heaptrace/heaptrace.conf" \
	"the config is a conffile"

# Installed, it runs.
dpkg_locked -i "$DEB"
is $? 0 "dpkg -i installs it" || diag "$(cat "$T/dpkg.out")"
INSTALLED=1
is "$(/usr/sbin/heaptrace --version)" "heaptrace $version" "/usr/sbin/heaptrace --version"
mkdir -p "$T/out"
# The installed config as shipped (all commented out) is read, and changes nothing.
run_bounded 60 /usr/sbin/heaptrace -r 1 --preload -o "$T/out" -- "$FIXTURES/alloc_known-fp" \
	>"$T/stdout" 2>"$T/err"
is $? 0 "the packaged heaptrace traces a fixture" || diag "$(tail -n 10 "$T/err")"
like "$(grep -m1 'tracing pid' "$T/err")" \
	'in-process sampler \(otel_memory USDT\), 2 probes on /usr/lib/heaptrace/libheaptrace-sampler.so' \
	"--preload finds the packaged sampler"
assert_table "$(last_profile "$T/out")" "$ALLOC_KNOWN_TABLE" "packaged: "
is "$(man -w heaptrace 2>&1)" /usr/share/man/man8/heaptrace.8.gz "man finds heaptrace(8)"
MANWIDTH=80 man --warnings heaptrace >/dev/null 2>"$T/warn"
is "$(cat "$T/warn")" "" "man heaptrace: no warning"
# What a service would leave: its state directory with a profile.
mkdir -p /var/lib/heaptrace/redis-server
cp "$(last_profile "$T/out")" /var/lib/heaptrace/redis-server/
dpkg -L heaptrace >"$T/listed"
is $? 0 "dpkg -L lists the package's files"

# Purged, nothing is left.
dpkg_locked --purge heaptrace
is $? 0 "dpkg --purge heaptrace" || diag "$(cat "$T/dpkg.out")"
INSTALLED=0
dpkg -L heaptrace >/dev/null 2>&1
ok $([ $? -ne 0 ]; echo $?) "dpkg -L heaptrace: the file list is gone"
ok $(! dpkg-query -W -f='${Status}' heaptrace 2>/dev/null | grep -q installed; echo $?) \
	"dpkg knows no heaptrace"
left=
while read -r f; do
	[ -d "$f" ] && continue # shared directories (/usr/sbin, /lib/systemd/system) stay
	[ -e "$f" ] && left+="$f "
done <"$T/listed"
is "$left" "" "no file the package installed is left"
for d in /etc/heaptrace /usr/lib/heaptrace /var/lib/heaptrace /usr/share/doc/heaptrace; do
	ok $([ ! -e "$d" ]; echo $?) "$d is gone"
done
is "$(ls /var/lib/dpkg/info/heaptrace.* /var/lib/systemd/deb-systemd-helper-*/*heaptrace* \
	/etc/systemd/system/*/heaptrace* 2>/dev/null)" "" "no dpkg or deb-systemd-helper state is left"

done_testing
