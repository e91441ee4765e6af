#!/bin/bash
# make install / make uninstall: into a DESTDIR, with PREFIX and the GNU
# directory variables; the installed binary runs from there (a real trace of
# a fixture through the installed sampler, found by --preload beside the
# binary's ../lib/heaptrace), the man page and bash completion work, an edited
# config survives a reinstall and an uninstall, and an uninstall leaves no file.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp
[ -f "$BUILD/heaptrace.8" ] || bail_out "$BUILD/heaptrace.8 is not built (run make)"
[ -f /usr/share/bash-completion/bash_completion ] ||
	_precondition_missing "bash-completion is not installed (scripts/install-deps.sh)"

# inst TARGET VARS...: make TARGET in the source tree, on the test's build.
inst() {
	local target=$1
	shift
	run_bounded 120 make --no-print-directory -C "$TOPDIR" BUILD="$BUILD" "$target" "$@" \
		>"$T/make.out" 2>&1
}

ROOT=$T/root
inst install DESTDIR="$ROOT"
is $? 0 "make install DESTDIR=... exits 0" || diag "$(tail -n 20 "$T/make.out")"
for f in usr/local/sbin/heaptrace:755 usr/local/lib/heaptrace/libheaptrace-sampler.so:644 \
	usr/local/share/man/man8/heaptrace.8:644 usr/local/lib/systemd/system/heaptrace.service:644 \
	usr/local/lib/systemd/system/heaptrace@.service:644 \
	usr/local/share/bash-completion/completions/heaptrace:644 etc/heaptrace/heaptrace.conf:644; do
	is "$(stat -c %a "$ROOT/${f%:*}" 2>&1)" "${f#*:}" "installed: /${f%:*} (mode ${f#*:})"
done
is "$(find "$ROOT" -type f | wc -l)" 7 "nothing else is installed"
like "$(grep '^ExecStart=' "$ROOT/usr/local/lib/systemd/system/heaptrace.service")" \
	'^ExecStart=/usr/local/sbin/heaptrace$' "the unit runs the binary from sbindir"
cmp -s "$TOPDIR/dist/heaptrace.conf" "$ROOT/etc/heaptrace/heaptrace.conf"
ok $? "the example config is installed as /etc/heaptrace/heaptrace.conf"

# Run from there: the version, then a short real trace through the installed sampler.
BIN=$ROOT/usr/local/sbin/heaptrace
is "$("$BIN" --version)" "heaptrace $(cat "$TOPDIR/VERSION")" "the installed heaptrace --version"
mkdir -p "$T/out"
run_bounded 60 "$BIN" --config "$ROOT/etc/heaptrace/heaptrace.conf" -r 1 --preload -o "$T/out" -- \
	"$FIXTURES/alloc_known-fp" >"$T/stdout" 2>"$T/err"
is $? 0 "the installed heaptrace traces a fixture" || diag "$(tail -n 10 "$T/err")"
like "$(grep -m1 'tracing pid' "$T/err")" \
	"in-process sampler \\(otel_memory USDT\\), 2 probes on $ROOT/usr/local/lib/heaptrace/libheaptrace-sampler.so" \
	"--preload finds the installed sampler in ../lib/heaptrace"
assert_table "$(last_profile "$T/out")" "$ALLOC_KNOWN_TABLE" "installed: "

# The installed man page and completion.
MANWIDTH=80 man -l --warnings "$ROOT/usr/local/share/man/man8/heaptrace.8" >"$T/page" 2>"$T/warn"
is "$?:$(cat "$T/warn")" "0:" "the installed man page renders without a warning"
like "$(grep -m1 -A1 '^FILES' "$T/page" | tail -n 1)" '/etc/heaptrace/heaptrace.conf' \
	"the man page's FILES"
like "$(sed -n '/^FILES$/,/^SIGNALS$/p' "$T/page" | grep -F 'libheaptrace-sampler.so' | head -n 1)" \
	'^ +/usr/local/lib/heaptrace/libheaptrace-sampler.so$' \
	"the man page names the sampler where it is installed"
got=$(PATH=$ROOT/usr/local/sbin:$PATH bash -c '
		. /usr/share/bash-completion/bash_completion
		. "$1"
		COMP_WORDS=(heaptrace --max-c); COMP_CWORD=1; COMP_LINE="heaptrace --max-c"
		COMP_POINT=${#COMP_LINE}
		_heaptrace heaptrace --max-c heaptrace
		echo "${COMPREPLY[*]}"
		COMP_WORDS=(heaptrace --unwind ""); COMP_CWORD=2; COMP_LINE="heaptrace --unwind "
		COMP_POINT=${#COMP_LINE}
		_heaptrace heaptrace "" --unwind
		echo "${COMPREPLY[*]}"' sh "$ROOT/usr/local/share/bash-completion/completions/heaptrace")
	is "$got" "--max-call-rate"$'\n'"auto fp dwarf" "bash completion: options from --help, values"

# An edited config is the administrator's: kept by a reinstall and by uninstall.
echo "interval = 1m" >>"$ROOT/etc/heaptrace/heaptrace.conf"
inst install DESTDIR="$ROOT"
is "$(tail -n 1 "$ROOT/etc/heaptrace/heaptrace.conf")" "interval = 1m" "a reinstall keeps an edited config"
inst uninstall DESTDIR="$ROOT"
is $? 0 "make uninstall exits 0" || diag "$(tail -n 20 "$T/make.out")"
is "$(find "$ROOT" -type f)" "$ROOT/etc/heaptrace/heaptrace.conf" "uninstall keeps only the edited config"
rm "$ROOT/etc/heaptrace/heaptrace.conf"
inst install DESTDIR="$ROOT" && inst uninstall DESTDIR="$ROOT"
is $? 0 "install then uninstall"
is "$(find "$ROOT" -type f -o -name '*heaptrace*' | wc -l)" 0 \
	"uninstall leaves no file and no heaptrace directory"

# Other places: PREFIX=/usr, and each directory variable on its own.
ROOT=$T/root2
inst install DESTDIR="$ROOT" PREFIX=/usr systemdunitdir=/lib/systemd/system mandir=/usr/man \
	bashcompletiondir=/usr/share/bash-completion/completions
is $? 0 "make install PREFIX=/usr with directory variables" || diag "$(tail -n 20 "$T/make.out")"
for f in usr/sbin/heaptrace usr/lib/heaptrace/libheaptrace-sampler.so usr/man/man8/heaptrace.8 \
	lib/systemd/system/heaptrace.service lib/systemd/system/heaptrace@.service \
	usr/share/bash-completion/completions/heaptrace etc/heaptrace/heaptrace.conf; do
	ok $([ -f "$ROOT/$f" ]; echo $?) "PREFIX=/usr: /$f"
done
like "$(grep '^ExecStart=' "$ROOT/lib/systemd/system/heaptrace@.service")" \
	'^ExecStart=/usr/sbin/heaptrace --cgroup' "the template runs /usr/sbin/heaptrace"
inst uninstall DESTDIR="$ROOT" PREFIX=/usr systemdunitdir=/lib/systemd/system mandir=/usr/man \
	bashcompletiondir=/usr/share/bash-completion/completions
is "$(find "$ROOT" -type f -o -name '*heaptrace*' | wc -l)" 0 "PREFIX=/usr: uninstall leaves nothing"

done_testing
