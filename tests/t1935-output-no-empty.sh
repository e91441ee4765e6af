#!/bin/bash
# A process image without a sample leaves no profile: a wrapper that
# exec'd (sh -c 'exec ...') leaves only the program's own, an idle command
# none at all; --write-empty writes them anyway.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture leak_big-fp

# samples_of FILE: the sample count heaptrace wrote into the profile's comment.
samples_of() {
	pprof -top "$1" 2>/dev/null | sed -nE 's/.*sample rate [0-9]+, ([0-9]+) samples.*/\1/p' | head -n 1
}

# trace NAME ARGS... -- COMMAND: heaptrace with a long interval (final profiles only) into $T/NAME.
trace() {
	local name=$1
	shift
	mkdir "$T/$name"
	run_bounded 60 "$HEAPTRACE" -i 1h -o "$T/$name" "$@" >"$T/$name.out" 2>"$T/$name.err"
	is $? 0 "$name: heaptrace exits 0"
}

# 8 MiB between samples: the 60 MB the program leaks get about 7 samples,
# the shell's few kilobytes before its exec almost surely none.
trace wrapper -r 8m -- sh -c "exec $FIXTURES/leak_big-fp"
is "$(grep -c 'tracing pid' "$T/wrapper.err")" 2 "wrapper: two images traced (sh, then the program)"
is "$(profiles_of "$T/wrapper" | wc -l)" 1 "wrapper: one profile, the program's"
n=$(samples_of "$(first_profile "$T/wrapper")")
ok "$([ "${n:-0}" -gt 0 ]; echo $?)" "wrapper: and it has samples ($n)"

trace wrapper-empty -r 8m --write-empty -- sh -c "exec $FIXTURES/leak_big-fp"
is "$(profiles_of "$T/wrapper-empty" | wc -l)" 2 "--write-empty: the shell's image gets a profile too"
empty=0
for f in $(profiles_of "$T/wrapper-empty"); do
	[ "$(samples_of "$f")" = 0 ] && empty=$((empty + 1))
done
is "$empty" 1 "--write-empty: one of them has no sample"

# 1 GiB between samples: sleep's few kilobytes are never sampled.
trace idle -r 1g -- sleep 1
is "$(find "$T/idle" -mindepth 1 | wc -l)" 0 "an idle command leaves nothing"
trace idle-empty -r 1g --write-empty -- sleep 1
is "$(profiles_of "$T/idle-empty" | wc -l)" 1 "--write-empty: an idle command leaves its empty profile"

done_testing
