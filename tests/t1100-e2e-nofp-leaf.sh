#!/bin/bash
# Fixtures built without frame pointers (-nofp): the immediate caller is
# read at the stack pointer, not from a frame, so the leaf and therefore
# every per-function number stay exact at -r 1. Whole stacks down to main
# need DWARF unwinding (a later issue): reported as TODO until then.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-nofp alloc_cxx-nofp

for fixture in alloc_known-nofp alloc_cxx-nofp; do
	case $fixture in
	alloc_known*) table=$ALLOC_KNOWN_TABLE ;;
	*) table=$ALLOC_CXX_TABLE ;;
	esac
	out=$T/out-$fixture
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/$fixture" >"$T/stdout" 2>"$T/err"
	is $? 0 "$fixture: heaptrace -r 1 -- $fixture exits 0" || diag "$(cat "$T/err")"
	prof=$(last_profile "$out")
	ok "$([ -n "$prof" ]; echo $?)" "$fixture: a profile was written" || continue
	assert_table "$prof" "$table" "$fixture: "
	check_stacks "$prof" --leaf-only $(awk 'NF { print $1 }' <<<"$table")
	check_no_allocator_frames "$prof"
	nomain=$(pprof_traces "$prof" alloc_objects | cut -f2 | grep -E "^(leak_malloc|new_objects)(;|$)" |
		while read -r stack; do stack_reaches_main "$stack" || echo "$stack"; done)
	if [ -n "$nomain" ]; then
		todo "$fixture: stacks reach main without frame pointers" "needs DWARF unwinding (later issue)"
		diag "e.g. $(echo "$nomain" | head -n 1)"
	else
		ok 0 "$fixture: stacks reach main without frame pointers"
	fi
done

done_testing
