#!/bin/bash
# System-wide --comm NAME: only processes of that name are picked up. A
# fixture of that name started afterwards gets its exact numbers at -r 1
# (DWARF unwinding) from the moment heaptrace says it traces it (probes go
# in per process, shortly after its exec); another one, of another name,
# allocating at the same time, gets nothing; nor does anything else on the
# host.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp

out=$T/out
mkdir -p "$out"
env --default-signal=INT,TERM "$HEAPTRACE" -v --comm alloc_known-nof -r 1 -i 500ms -o "$out" \
	>"$T/err.out" 2>"$T/err" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err" '^heaptrace: tracing every process named alloc_known-nof' 30 1 "$HT_PID"
ok $? "heaptrace started system-wide, for processes named alloc_known-nof" ||
	bail_out "$(cat "$T/err")"

start_fixture alloc_known-nofp --wait --hold 1 || bail_out "fixture did not start"
wanted=$FIX_PID
wait_for_line "$T/err" "^heaptrace: tracing pid $wanted " 10 1 "$HT_PID" ||
	diag "heaptrace did not say it traces pid $wanted: $(tail -n 5 "$T/err")"
start_fixture alloc_known-fp --wait --hold 1 || bail_out "fixture did not start"
other=$FIX_PID
kill -USR1 "$wanted" "$other"
wait_exit "$wanted" 20
wait_exit "$other" 20
wait_for_line "$T/err" "^heaptrace: pid $wanted \\(alloc_known-nof\\): inuse" 10
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "SIGINT: heaptrace exits 0" || diag "$(tail -n 20 "$T/err")"

prof=$(last_profile "$out" "$wanted")
ok "$([ -n "$prof" ]; echo $?)" "a profile of the process named alloc_known-nof (pid $wanted)"
[ -n "$prof" ] && assert_table "$prof" "$ALLOC_KNOWN_TABLE" "--comm: "
is "$(profiles_of "$out" "$other" | wc -l)" 0 "no profile of the process named alloc_known-fp"
others=$(profiles_of "$out" | grep -v "/alloc_known-nof\\.")
is "$(echo -n "$others" | grep -c .)" 0 "no profile of any other process" || diag "$others"

done_testing
