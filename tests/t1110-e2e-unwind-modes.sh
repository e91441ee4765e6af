#!/bin/bash
# --unwind=fp (frame pointers walked in the kernel) and --unwind=dwarf (CFI
# in the daemon) agree exactly on a frame-pointer build; a recursion deeper
# than the 127-frame limit is cut and marked with a [truncated] frame in
# both modes, never dropped.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp deep_recursion-fp deep_recursion-nofp

for mode in fp dwarf; do
	out=$T/out-$mode
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" --unwind "$mode" -r 1 -o "$out" -- "$FIXTURES/alloc_known-fp" \
		>"$T/stdout" 2>"$T/err"
	is $? 0 "--unwind $mode: heaptrace exits 0" || diag "$(cat "$T/err")"
	prof=$(last_profile "$out")
	assert_table "$prof" "$ALLOC_KNOWN_TABLE" "--unwind $mode: "
	check_stacks "$prof" leak_malloc churn grow_realloc
done

check_deep() {
	local mode=$1 fixture=$2
	local out=$T/deep-$mode-$fixture
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" --unwind "$mode" -r 1 -o "$out" -- "$FIXTURES/$fixture" 200 \
		>"$T/stdout" 2>"$T/err"
	is $? 0 "$fixture --unwind $mode: heaptrace exits 0" || diag "$(cat "$T/err")"
	local prof stack
	prof=$(last_profile "$out")
	is "$(pprof_flat "$prof" inuse_space leak_at_bottom)" 4242 \
		"$fixture --unwind $mode: the deep allocation is counted"
	stack=$(pprof_traces "$prof" alloc_objects | cut -f2 | grep '^leak_at_bottom;')
	like "$stack" '^leak_at_bottom;recurse;recurse;' "$fixture --unwind $mode: leaf, then the recursion"
	like "$stack" ';\[truncated\]$' "$fixture --unwind $mode: the stack ends in a [truncated] frame"
	is "$(tr ';' '\n' <<<"$stack" | wc -l)" 127 "$fixture --unwind $mode: 126 frames kept plus the mark"
}

check_deep fp deep_recursion-fp
check_deep dwarf deep_recursion-fp
check_deep dwarf deep_recursion-nofp

# A shallow stack is not marked.
out=$T/shallow
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/deep_recursion-nofp" 10 >/dev/null 2>&1
stack=$(pprof_traces "$(last_profile "$out")" alloc_objects | cut -f2 | grep '^leak_at_bottom;')
like "$stack" ';main;' "depth 10: whole stack down to main"
ok "$(! grep -q truncated <<<"$stack"; echo $?)" "depth 10: no [truncated] mark"

done_testing
