#!/bin/bash
# One name per process: a program run through a symlink of another name is
# named the same way everywhere: its comm (the symlink's name) in file
# names and status lines, and comm with its executable as mapped wherever a
# process is introduced (the "tracing pid" line, the profile's comment,
# --list-allocators). A program whose file name is its comm is named by
# comm alone. And messages heaptrace survives say "warning:", never
# "error:": a --follow-forks storm of children that exit at once.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

ln -s "$FIXTURES/alloc_known-fp" "$T/other-name"
exe=$(readlink -f "$FIXTURES/alloc_known-fp")
mkdir -p "$T/o"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$T/o" -- "$T/other-name" >"$T/out" 2>"$T/err"
is $? 0 "heaptrace -- a symlink: exits 0" || diag "$(cat "$T/err")"
pid=$(sed -n 's/^heaptrace: tracing pid \([0-9]*\) .*/\1/p' "$T/err" | head -n 1)
like "$(grep '^heaptrace: tracing pid' "$T/err")" \
	"^heaptrace: tracing pid $pid \\(other-name, executable $exe\\): glibc allocator, " \
	"the tracing line gives comm and the executable as mapped"
like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" "$STATUS_RE_HEAD\\(other-name\\)$STATUS_RE_TAIL" \
	"the status line names it by comm"
prof=$(last_profile "$T/o" "$pid")
like "$(basename "$prof")" "^other-name\\.$pid\\." "the file name is comm's"
like "$(pprof -raw "$prof" 2>/dev/null | grep -m1 '^Comment: heaptrace')" \
	"^Comment: heaptrace [^ ]+: pid $pid \\(other-name, executable $exe\\), sample rate 1, " \
	"the profile's comment gives both"
assert_table "$prof" "$ALLOC_KNOWN_TABLE" "through the symlink: "

"$T/other-name" --wait --hold 20 >"$T/fix.out" 2>&1 &
fix=$!
track_pid "$fix"
wait_for_line "$T/fix.out" '^ready$' 20 1 "$fix"
"$HEAPTRACE" --list-allocators -p "$fix" >"$T/list" 2>&1
is $? 0 "--list-allocators: exit 0"
like "$(head -n 1 "$T/list")" "^pid $fix \\(other-name, executable $exe\\): malloc is glibc's, from " \
	"--list-allocators names it the same way"
kill "$fix"

# A wrapper that execs: its image's profile keeps its name and its own executable mapping,
# the new image gets its own.
mkdir -p "$T/w"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$T/w" -- env "$FIXTURES/alloc_known-fp" >"$T/wout" 2>"$T/werr"
is $? 0 "heaptrace -- env FIXTURE: exits 0" || diag "$(cat "$T/werr")"
wpid=$(sed -n 's/^heaptrace: tracing pid \([0-9]*\) (env).*/\1/p' "$T/werr")
like "$(grep -E ': inuse .* lost$' "$T/werr" | head -n 1)" "$STATUS_RE_HEAD\(env\)$STATUS_RE_TAIL" \
	"the wrapper's status line names it env"
wprof=$(profiles_of "$T/w" "$wpid" | grep "/env\.$wpid\.")
ok "$([ -n "$wprof" ]; echo $?)" "the wrapper's profile is env.$wpid.*" || diag "$(ls "$T/w")"
[ -n "$wprof" ] && like "$(pprof -top "$wprof" 2>/dev/null | grep '^File:')" '^File: env$' \
	"the wrapper's profile is symbolized from env's own mapping"
assert_table "$(profiles_of "$T/w" "$wpid" | grep "/alloc_known-fp\.$wpid\.")" "$ALLOC_KNOWN_TABLE" \
	"the new image's own series: "

# Names that agree: comm alone.
start_fixture alloc_known-fp --wait --hold 20 || bail_out "fixture did not start"
"$HEAPTRACE" --list-allocators -p "$FIX_PID" >"$T/list2" 2>&1
like "$(head -n 1 "$T/list2")" "^pid $FIX_PID \\(alloc_known-fp\\): malloc is glibc's" \
	"a program named as its file: comm alone"
kill "$FIX_PID"

# A fork storm under --follow-forks: children that exit before their probes go in are
# not errors.
rm -f "$T/go"
mkfifo "$T/go"
env --default-signal=INT,TERM bash -c 'read -r _ <"$1"; for i in $(seq 200); do ( : ) & done; wait' \
	sh "$T/go" >/dev/null 2>&1 &
storm=$!
track_pid "$storm"
sleep 0.2
mkdir -p "$T/o2"
start_heaptrace "$T/err2" --follow-forks -p "$storm" -r 1 -i 1h -o "$T/o2" ||
	bail_out "heaptrace did not start"
echo go >"$T/go"
wait_exit "$HT_PID" 60
is "$EXIT_STATUS" 0 "fork storm: heaptrace exits 0 when the shell is done" || diag "$(tail -n 5 "$T/err2")"
is "$(grep -c 'heaptrace: error' "$T/err2")" 0 "fork storm: no error line" ||
	diag "$(grep 'heaptrace: error' "$T/err2" | head -n 3)"
lines=$(grep -cE 'exited before|exited while|no such process' "$T/err2")
is "$(grep -E 'exited before|exited while|no such process' "$T/err2" | grep -vc '^heaptrace: warning: ')" 0 \
	"fork storm: each of the $lines children missed is a warning"
done_testing
