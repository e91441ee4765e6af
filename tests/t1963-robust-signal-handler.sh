#!/bin/bash
# Allocations made by a signal handler that interrupted an allocator call
# (SIGPROF every millisecond of CPU while a loop mallocs and frees, so most
# signals land inside the traced allocator) are counted at -r 1, not
# swallowed as nested in the call they interrupted: the handler's exact
# count with uprobe sessions (both unwinding modes). With --no-session (one
# record a thread) they cannot be followed, and are counted as lost,
# exactly: counted + lost = the handler's allocations.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture signal_storm-fp signal_storm-nofp

N=200000
for run in dwarf:signal_storm-nofp: fp:signal_storm-fp: dwarf:signal_storm-nofp:--no-session; do
	IFS=: read -r mode fixture extra <<<"$run"
	name="--unwind $mode${extra:+ $extra}"
	out=$T/out-$mode$extra
	mkdir -p "$out"
	# shellcheck disable=SC2086
	# The valve off: the loop is far over its budget, and the test counts every call.
	run_bounded 120 "$HEAPTRACE" -r 1 --max-overhead off --unwind "$mode" $extra -o "$out" -- "$FIXTURES/$fixture" $N \
		>"$T/stdout" 2>"$T/err"
	is $? 0 "$name: heaptrace -r 1 -- $fixture $N" || diag "$(tail -n 5 "$T/err")"
	handler=$(sed -n 's/^handler allocations \([0-9]*\),.*/\1/p' "$T/stdout")
	ok "$([ "${handler:-0}" -gt 20 ]; echo $?)" "$name: the handler allocated ${handler:-?} times"
	prof=$(last_profile "$out")
	counted=$(pprof_flat "$prof" alloc_objects on_alarm)
	lost=$(sed -nE 's/.*samples, ([0-9]+) lost$/\1/p' "$T/err" | tail -n 1)
	is "$(pprof_flat "$prof" alloc_objects main_churn)" $N "$name: main_churn's $N allocations"
	if [ -z "$extra" ]; then
		is "$counted" "$handler" "$name: every allocation of the handler counted"
		is "$(pprof_flat "$prof" alloc_space on_alarm)" $((handler * 333)) "$name: and its bytes"
		is "$lost" 0 "$name: nothing lost"
	else
		is "$((counted + lost))" "$handler" "$name: counted ($counted) + lost ($lost) = the handler's allocations"
		ok "$([ "$lost" -gt 0 ]; echo $?)" "$name: the ones not followed are lost, not swallowed"
	fi
done

done_testing
