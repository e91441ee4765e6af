#!/bin/bash
# --max-call-rate: a process calling its allocator faster than the budget
# has its probes taken off for the --cool-down period (a warning on
# stderr), put back after it (allocations then counted exactly again, at
# -r 1), and every profile written after that says so in a comment. The
# calls made while the probes were off are missing from the profile.
# Per process with -p (both unwinding modes) and in filtered system-wide
# mode (--comm: each process has probes of its own, so its own valve), and
# unfiltered system-wide, where the probes every process shares come off
# and back together, one valve judging all traced processes.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture call_burst-fp call_burst-nofp

# check_run LABEL ERRFILE OUTDIR PID: the valve's story, told by heaptrace
# and by the profile.
check_run() {
	local label=$1 err=$2 out=$3 pid=$4 prof pairs counted comment
	like "$(grep -m1 'exceed --max-call-rate' "$err")" \
		'^heaptrace: warning: .*: [0-9]+ allocation calls/s exceed --max-call-rate 1000: probes off for 1 s \(the profiles say so\)$' \
		"$label: the valve tripped, said once on stderr"
	like "$(grep -m1 'probes back on' "$err")" '^heaptrace: .*: probes back on after 1 s$' \
		"$label: the probes came back after the cool-down"
	prof=$(last_profile "$out" "$pid")
	ok "$([ -n "$prof" ]; echo $?)" "$label: a final profile"
	[ -n "$prof" ] || return
	comment=$(pprof -raw "$prof" 2>/dev/null | grep '^Comment: max-call-rate')
	like "$comment" \
		'^Comment: max-call-rate: probes detached 1 time, [0-9.]+ s in all: allocation calls peaked at [0-9]+/s \(over --max-call-rate 1000/s\); calls in those periods are not counted and blocks freed then still count as in use$' \
		"$label: the profile says the probes were off" || diag "$(pprof -raw "$prof" 2>&1 | grep Comment)"
	# After the cool-down the probes count every call again.
	is "$(pprof_flat "$prof" alloc_objects after_cooling)" 10 "$label: after_cooling: 10 allocations" ||
		diag "$(grep -v '^heaptrace: probing' "$err" | tail -n 12; cat "$FIX_OUT")"
	is "$(pprof_flat "$prof" inuse_space after_cooling)" 40960 "$label: after_cooling: 40960 B in use"
	# While they were off, the burst went on unseen.
	pairs=$(sed -nE 's/^burst ([0-9]+)$/\1/p' "$FIX_OUT")
	counted=$(pprof_flat "$prof" alloc_objects burst)
	ok "$([ "${counted:-0}" -gt 0 ] && [ -n "$pairs" ] && [ "$counted" -lt "$pairs" ]; echo $?)" \
		"$label: the burst was seen in part ($counted of $pairs calls)"
}

for mode in fp dwarf; do
	fixture=call_burst-fp
	[ $mode = dwarf ] && fixture=call_burst-nofp
	out=$T/out-$mode
	mkdir -p "$out"
	start_fixture $fixture --wait || bail_out "fixture did not start"
	start_heaptrace "$T/err-$mode" --unwind $mode -r 1 -i 500ms --max-call-rate 1000 \
		--cool-down 1s -o "$out" -p "$FIX_PID" || bail_out "heaptrace did not start"
	kill -USR1 "$FIX_PID"
	wait_for_line "$T/err-$mode" 'exceed --max-call-rate' 20 1 "$HT_PID"
	# The burst ends while the probes are off; the known allocations wait for them.
	kill -USR1 "$FIX_PID"
	wait_for_line "$FIX_OUT" '^ready$' 20 2 "$FIX_PID"
	wait_for_line "$T/err-$mode" 'probes back on' 20 1 "$HT_PID"
	kill -USR1 "$FIX_PID"
	wait_exit "$FIX_PID" 20
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "-p, --unwind $mode: heaptrace exits 0 with its target" ||
		diag "$(tail -n 20 "$T/err-$mode")"
	check_run "-p, --unwind $mode" "$T/err-$mode" "$out" "$FIX_PID"
done

# Filtered system-wide mode: the process's own probes come off and back.
out=$T/out-sys
mkdir -p "$out"
env --default-signal=INT,TERM "$HEAPTRACE" --comm call_burst-nofp -r 1 -i 500ms \
	--max-call-rate 1000 --cool-down 1s -o "$out" >"$T/err-sys.out" 2>"$T/err-sys" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err-sys" '^heaptrace: tracing every process named call_burst-nofp' 30 1 "$HT_PID"
ok $? "system-wide: heaptrace started" || bail_out "$(cat "$T/err-sys")"
start_fixture call_burst-nofp --wait || bail_out "fixture did not start"
kill -USR1 "$FIX_PID"
wait_for_line "$T/err-sys" 'exceed --max-call-rate' 20 1 "$HT_PID"
kill -USR1 "$FIX_PID"
wait_for_line "$FIX_OUT" '^ready$' 20 2 "$FIX_PID"
wait_for_line "$T/err-sys" 'probes back on' 20 1 "$HT_PID"
kill -USR1 "$FIX_PID"
wait_exit "$FIX_PID" 20
wait_for_line "$T/err-sys" "^heaptrace: pid $FIX_PID \\(call_burst-nofp\\): inuse" 10
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "system-wide: SIGINT: heaptrace exits 0" || diag "$(tail -n 20 "$T/err-sys")"
like "$(grep -m1 'exceed --max-call-rate' "$T/err-sys")" "^heaptrace: warning: pid $FIX_PID \\(call_burst-nofp\\): " \
	"--comm: the valve speaks for the process, whose probes are its own"
check_run "system-wide" "$T/err-sys" "$out" "$FIX_PID"

# Unfiltered system-wide mode: one valve for the probes every process shares.
# Kept short: every process of the host traps while it runs.
out=$T/out-all
mkdir -p "$out"
start_fixture call_burst-nofp --wait || bail_out "fixture did not start"
env --default-signal=INT,TERM "$HEAPTRACE" -r 1 -i 1h --max-call-rate 1000 --cool-down 1s \
	-o "$out" >"$T/err-all.out" 2>"$T/err-all" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err-all" '^heaptrace: tracing every process:' 30 1 "$HT_PID"
ok $? "unfiltered: heaptrace started" || bail_out "$(cat "$T/err-all")"
kill -USR1 "$FIX_PID"
wait_for_line "$T/err-all" 'exceed --max-call-rate' 20 1 "$HT_PID"
like "$(grep -m1 'exceed --max-call-rate' "$T/err-all")" '^heaptrace: warning: all [0-9]+ traced processes: ' \
	"unfiltered: the valve speaks for all traced processes"
wait_for_line "$T/err-all" 'all [0-9]+ traced processes: probes back on' 20 1 "$HT_PID"
ok $? "unfiltered: the shared probes go back on after the cooling period"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "unfiltered: SIGINT: heaptrace exits 0"
kill -USR1 "$FIX_PID"
kill -USR1 "$FIX_PID"
wait_exit "$FIX_PID" 20

done_testing
