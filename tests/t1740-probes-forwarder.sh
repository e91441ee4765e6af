#!/bin/bash
# libstdc++'s operator new hands every request to malloc from its own code
# (operator new[] jumps to operator new). With uprobe sessions an unsampled
# operator new arms no return run: it leaves a marker that the malloc inside
# it recognises by its return address (docs/design.md, "Forwarders"). Every
# request must still count once: at a sampling rate, the allocation calls
# heaptrace saw equal the fixture's operator new calls (the mallocs inside
# them are not calls of their own), the estimated bytes match what was
# allocated, the stacks start in the fixture's functions. The uprobe +
# uretprobe pairs (--no-session), which track every operator new to its
# return, see the same.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_cxx-fp alloc_cxx-nofp

require_kernel 6 13 "uprobe sessions"

# --list-probes says which sites forward: libstdc++'s operator new family, not malloc.
run_bounded 20 "$HEAPTRACE" --list-probes -- "$FIXTURES/alloc_cxx-nofp" >"$T/list" 2>&1
is $? 0 "--list-probes exits 0"
like "$(awk -F'\t' '$2 == "_Znwm" && $1 ~ /libstdc\+\+/ { print $5 }' "$T/list")" \
	'; forwards to malloc: a return run only when sampled$' "libstdc++'s operator new forwards" ||
	diag "$(cat "$T/list")"
like "$(awk -F'\t' '$2 == "_Znam" && $1 ~ /libstdc\+\+/ { print $5 }' "$T/list")" \
	'; forwards to malloc' "so does its operator new[]"
is "$(awk -F'\t' '$2 == "malloc" && /forwards/' "$T/list" | wc -l)" 0 "malloc does not forward"

N=30000
# The fixture's table (7 + 3 + 5 operator new calls), then N new and N new[].
CALLS=$((15 + 2 * N))

# run_churn FIXTURE UNWIND [EXTRA_ARGS...]
run_churn() {
	local fixture=$1 mode=$2
	shift 2
	local tag="$fixture --unwind $mode${*:+ $*}" out=$T/out-$fixture-$mode-$# calls prof
	rm -rf "$out" && mkdir -p "$out"
	start_fixture "$fixture" --wait --churn $N || bail_out "$fixture did not start"
	start_heaptrace "$T/err" -v --unwind "$mode" -r 4096 "$@" -o "$out" -p "$FIX_PID" ||
		bail_out "heaptrace did not start"
	kill -USR1 "$FIX_PID"
	wait_exit "$FIX_PID" 60
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$tag: heaptrace exits 0 with its target" ||
		diag "$(grep -v '^libbpf' "$T/err" | tail -n 20)"
	calls=$(sed -nE "s/^heaptrace: pid $FIX_PID: ([0-9]+) allocation calls seen.*/\\1/p" "$T/err" |
		tail -n 1)
	is "$calls" "$CALLS" "$tag: each operator new counted once, its malloc not"
	prof=$(last_profile "$out" "$FIX_PID")
	ok "$([ -n "$prof" ]; echo $?)" "$tag: a final profile"
	[ -n "$prof" ] || return
	# -r 4096: about 720 samples of the 100-byte objects, 15 600 of the arrays.
	within "$(pprof_flat "$prof" alloc_space churn_objects)" $((100 * N)) 25 \
		"$tag: churn_objects' bytes estimated ($((100 * N)) allocated)"
	within "$(pprof_flat "$prof" alloc_space churn_arrays)" $((3000 * N)) 10 \
		"$tag: churn_arrays' bytes estimated ($((3000 * N)) allocated)"
	is "$(pprof_flat "$prof" inuse_space churn_arrays)" 0 "$tag: churn_arrays: nothing in use"
	check_no_allocator_frames "$prof"
	check_stacks "$prof" churn_objects churn_arrays
}

run_churn alloc_cxx-nofp dwarf
like "$(grep -m1 'heaptrace: probes:' "$T/err")" 'probes: uprobe sessions' "sessions in use"
run_churn alloc_cxx-fp fp
run_churn alloc_cxx-nofp dwarf --no-session

done_testing
