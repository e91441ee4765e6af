#!/bin/bash
# System-wide --cgroup PATH: only processes in that cgroup v2 directory (or
# below) are picked up. The test makes a cgroup, moves one of two identical
# fixtures into it: that one gets its exact numbers at -r 1, the other
# nothing. With -p, a process outside the cgroup is refused.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

make_test_cgroup

start_fixture alloc_known-fp --wait --hold 1 || bail_out "fixture did not start"
inside=$FIX_PID
start_fixture alloc_known-fp --wait --hold 1 || bail_out "fixture did not start"
outside=$FIX_PID
echo "$inside" >"$cg/cgroup.procs"
ok $? "moved pid $inside into $cg"

run_bounded 20 "$HEAPTRACE" -p "$outside" --cgroup "$cg" -o "$T" >/dev/null 2>"$T/refused"
is $? 1 "-p of a process outside --cgroup: exit 1"
like "$(cat "$T/refused")" "^heaptrace: error: pid $outside is not in the cgroup" \
	"-p outside --cgroup: the error says so"

out=$T/out
mkdir -p "$out"
env --default-signal=INT,TERM "$HEAPTRACE" --cgroup "$cg" --unwind fp -r 1 -i 500ms -o "$out" \
	>"$T/err.out" 2>"$T/err" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err" "^heaptrace: tracing every process in $cg" 30 1 "$HT_PID"
ok $? "heaptrace started system-wide, for the cgroup" || bail_out "$(cat "$T/err")"

kill -USR1 "$inside" "$outside"
wait_exit "$inside" 20
wait_exit "$outside" 20
wait_for_line "$T/err" "^heaptrace: pid $inside \\(alloc_known-fp\\): inuse" 10
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "SIGINT: heaptrace exits 0" || diag "$(tail -n 20 "$T/err")"

prof=$(last_profile "$out" "$inside")
ok "$([ -n "$prof" ]; echo $?)" "a profile of the process in the cgroup (pid $inside)"
[ -n "$prof" ] && assert_table "$prof" "$ALLOC_KNOWN_TABLE" "--cgroup: "
is "$(profiles_of "$out" "$outside" | wc -l)" 0 "no profile of the process outside it"
others=$(profiles_of "$out" | grep -v "\\.$inside\\.")
is "$(echo -n "$others" | grep -c .)" 0 "no profile of any other process" || diag "$others"

done_testing
