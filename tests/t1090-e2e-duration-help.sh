#!/bin/bash
# --duration stops tracing on time: heaptrace writes a final profile (exact
# at -r 1), exits 0 on its own and leaves the target running. --help and
# --version print to stdout and exit 0.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

"$HEAPTRACE" --version >"$T/version" 2>&1
is $? 0 "--version exits 0"
like "$(cat "$T/version")" "^heaptrace $(cat "$TOPDIR/VERSION")$" "--version prints 'heaptrace $(cat "$TOPDIR/VERSION")'"
"$HEAPTRACE" --help >"$T/help" 2>"$T/help.err"
is $? 0 "--help exits 0"
for opt in --pid --interval --output-dir --sample-rate --duration --verbose --help --version; do
	like "$(grep -c -- "$opt" "$T/help")" '^[1-9]' "--help documents $opt"
done

out=$T/out
mkdir -p "$out"
start_fixture alloc_known-fp --wait --hold 60
fpid=$FIX_PID
start=$SECONDS
start_heaptrace "$T/err" -p "$fpid" -r 1 -d 2s -o "$out"
ok $? "heaptrace -p $fpid -d 2s attached"
kill -USR1 "$fpid"
wait_exit "$HT_PID" 20
ok $? "heaptrace stops by itself"
is "$EXIT_STATUS" 0 "exit status 0 after --duration" || diag "$(cat "$T/err")"
el=$((SECONDS - start))
ok "$([ $el -ge 1 ] && [ $el -le 12 ]; echo $?)" "it ran about 2 s (${el}s including attach)"
is "$(profiles_of "$out" "$fpid" | wc -l)" 1 "one (final) profile, the 30 s interval never came"
prof=$(last_profile "$out" "$fpid")
if [ -n "$prof" ]; then
	is "$(pprof_flat "$prof" inuse_space leak_aligned_alloc)" 12288 "final profile: leak_aligned_alloc inuse_space 12288"
	is "$(pprof_flat "$prof" alloc_space grow_realloc)" 3100 "final profile: grow_realloc alloc_space 3100"
	like "$(pprof -raw "$prof" 2>/dev/null | sed -n 's/^Duration: //p;' | head -n 1)" '.' "profile carries a duration"
fi
ok "$(is_running "$fpid"; echo $?)" "the target keeps running after heaptrace stopped"
kill -TERM "$fpid"
wait_exit "$fpid" 10

done_testing
