#!/bin/bash
# The output directory is checked once at the start: one named by a
# symlink, one another user owns and one others may write to without the
# sticky bit are refused with one error line that names the override;
# --unsafe-output-dir accepts them; a sticky world-writable directory of
# root's is fine. Profiles get mode 0640 less the umask.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# refused DESC DIR RE: heaptrace exits non-zero with exactly one error line matching RE.
refused() {
	local desc=$1 dir=$2 re=$3 rc
	run_bounded 30 "$HEAPTRACE" -r 1 -o "$dir" -- "$FIXTURES/alloc_known-fp" >"$T/r.out" 2>"$T/r.err"
	rc=$?
	ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; echo $?)" "$desc: refused (exit $rc)"
	is "$(grep -c '^heaptrace: error:' "$T/r.err")" 1 "$desc: one error line"
	like "$(grep '^heaptrace: error:' "$T/r.err")" "$re" "$desc: it says why and what to do"
	is "$(find "$dir"/ -name '*.heap.pb.gz' | wc -l)" 0 "$desc: nothing written"
}

# written DESC DIR ARGS...: heaptrace runs the fixture and leaves a profile in DIR.
written() {
	local desc=$1 dir=$2 rc
	shift 2
	run_bounded 30 "$HEAPTRACE" -r 1 -o "$dir" "$@" -- "$FIXTURES/alloc_known-fp" >"$T/w.out" 2>"$T/w.err"
	rc=$?
	is "$rc" 0 "$desc: heaptrace exits 0"
	ok "$([ "$(profiles_of "$dir" | wc -l)" -ge 1 ]; echo $?)" "$desc: a profile was written"
	[ "$rc" = 0 ] || diag "$(cat "$T/w.err")"
}

mkdir "$T/real"
ln -s "$T/real" "$T/link"
refused "a symlink" "$T/link" "symbolic link.*-o"

mkdir "$T/nobodys"
chown nobody "$T/nobodys"
refused "another user's directory" "$T/nobodys" "belongs to nobody.*--unsafe-output-dir"

mkdir "$T/open"
chmod 0777 "$T/open"
refused "a world-writable directory" "$T/open" "writable by others \(mode 0777\).*--unsafe-output-dir"

mkdir "$T/group"
chgrp nogroup "$T/group"
chmod 0770 "$T/group"
refused "a directory another group may write" "$T/group" "writable by others \(mode 0770\)"

written "another user's directory with --unsafe-output-dir" "$T/nobodys" --unsafe-output-dir
written "a world-writable directory with --unsafe-output-dir" "$T/open" --unsafe-output-dir

mkdir "$T/sticky"
chmod 1777 "$T/sticky"
written "a sticky world-writable directory of root's" "$T/sticky"

# The mode: 0640 less the umask (the umask of heaptrace's own process).
mkdir "$T/m022" "$T/m077"
umask 022
written "umask 022" "$T/m022"
f=$(first_profile "$T/m022")
is "$(stat -c %a "$f")" 640 "umask 022: the profile is 0640 (not world-readable)"
umask 077
written "umask 077" "$T/m077"
umask 022
f=$(first_profile "$T/m077")
is "$(stat -c %a "$f")" 600 "umask 077: the profile is 0600"

# Bad values of the retention options: one line naming the option, exit 2.
for bad in "--keep abc" "--max-age 10x" "--max-disk lots"; do
	# shellcheck disable=SC2086
	run_bounded 30 "$HEAPTRACE" $bad -o "$T/m022" -- "$FIXTURES/alloc_known-fp" >"$T/b.out" 2>"$T/b.err"
	is $? 2 "$bad: a usage error"
	is "$(grep -c '^heaptrace: error:' "$T/b.err")" 1 "$bad: one error line"
	like "$(grep '^heaptrace: error:' "$T/b.err")" "${bad#--}|${bad%% *}" "$bad: it names the value or option: $(head -n 1 "$T/b.err")"
done

done_testing
