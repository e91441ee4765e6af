#!/bin/bash
# System-wide mode (no -p, no command): a process started after heaptrace
# is picked up by itself and its profile has the exact numbers at -r 1; a
# process that allocates nothing while traced gets no profile, and one that
# stops allocating gets no more; heaptrace never traces itself; SIGINT ends
# it with status 0.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp

# start_systemwide ERRFILE ARGS...: heaptrace without targets, ready once it
# has probed the host's allocators.
start_systemwide() {
	local errfile=$1
	shift
	env --default-signal=INT,TERM "$HEAPTRACE" "$@" >"$errfile.out" 2>"$errfile" &
	HT_PID=$!
	track_pid "$HT_PID"
	if ! wait_for_line "$errfile" '^heaptrace: tracing every process' 30 1 "$HT_PID"; then
		diag "heaptrace $* did not start; its stderr:"
		diag "$(cat "$errfile")"
		return 1
	fi
}

# The idle process: started before heaptrace, waits and never allocates.
start_fixture alloc_known-nofp --wait || bail_out "fixture did not start"
idle=$FIX_PID

out=$T/out
mkdir -p "$out"
# Frame pointers: the other processes of the host send no stack copies.
start_systemwide "$T/err" -r 1 -i 1s --unwind fp -o "$out" -v
ok $? "heaptrace started system-wide" || bail_out "no heaptrace"
like "$(grep '^heaptrace: tracing every process' "$T/err")" \
	'tracing every process: [1-9][0-9]* probes on [1-9][0-9]* allocator objects, at most 1024 processes' \
	"the start line says how many probes and objects"

# wait_new_image PID: start_fixture runs the fixture through env, which
# execs it. The allocations between an exec and heaptrace's handling of it
# are not counted (docs/limits.md): wait until the old image's final
# profile is written (-v says so), then the new image is traced from its
# next allocation. (When env made no allocation before its exec, there is
# no such exec.)
wait_new_image() {
	wait_for_line "$T/err" "^heaptrace: pid $1 .*exec'ed" 3 1 "$HT_PID" &&
		wait_for_line "$T/err" "^heaptrace: pid $1 \(.*\): inuse" 20 1 "$HT_PID"
	sleep 0.2
}

# Started after heaptrace: picked up at its first allocation. It stays a
# second after allocating: a process that exits before heaptrace has read
# its maps is not profiled (docs/limits.md).
start_fixture alloc_known-fp --wait --hold 1 || bail_out "fixture did not start"
late=$FIX_PID
wait_new_image "$late"
kill -USR1 "$late"
wait_exit "$late" 30
is "$EXIT_STATUS" 0 "the late fixture allocated and exited"

# One that allocates, then holds still for 5 s (5 intervals).
start_fixture alloc_known-fp --wait --hold 5 || bail_out "fixture did not start"
holder=$FIX_PID
wait_new_image "$holder"
kill -USR1 "$holder"
wait_exit "$holder" 20

wait_for_line "$T/err" "^heaptrace: pid $late \(alloc_known-fp\): inuse" 10 2
sleep 1
kill -INT "$HT_PID"
wait_exit "$HT_PID" 90
is "$EXIT_STATUS" 0 "SIGINT: heaptrace exits 0" || diag "$(tail -n 20 "$T/err")"

# The image before the exec (env) has its own series: take the fixture's.
fixture_profiles() {
	profiles_of "$out" "$1" | grep "/alloc_known-fp\\.$1\\."
}
prof=$(fixture_profiles "$late" | tail -n 1)
ok "$([ -n "$prof" ]; echo $?)" "a profile of the late process (pid $late)" || diag "$(ls "$out" | head)"
[ -n "$prof" ] && assert_table "$prof" "$ALLOC_KNOWN_TABLE" "late process: "
like "$(grep -E "^heaptrace: pid $late .*lost$" "$T/err" | tail -n 1)" "$STATUS_RE_HEAD\(alloc_known-fp\)$STATUS_RE_TAIL_NOLOSS" \
	"the late process's status line, nothing lost"

is "$(profiles_of "$out" "$idle" | wc -l)" 0 "no profile of the idle process (pid $idle)"
n=$(fixture_profiles "$holder" | wc -l)
ok "$([ "$n" -ge 1 ] && [ "$n" -le 2 ]; echo $?)" \
	"a process that stopped allocating gets no more profiles ($n over 5 s at 1s)"
prof=$(fixture_profiles "$holder" | tail -n 1)
[ -n "$prof" ] && is "$(pprof_flat "$prof" alloc_objects leak_malloc)" 10 "the holder's last profile has its allocations"
is "$(profiles_of "$out" "$HT_PID" | wc -l)" 0 "heaptrace never traces itself"
is "$(grep -c "pid $HT_PID " "$T/err")" 0 "heaptrace's own pid is in no status line"

kill -USR1 "$idle"
done_testing
