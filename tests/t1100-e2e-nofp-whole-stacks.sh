#!/bin/bash
# Fixtures built without frame pointers (-nofp), traced with the default
# unwinding: per-function numbers are exact at -r 1, exactly as for the
# frame-pointer builds, and every stack is whole: it reaches main through
# the fixture's own functions and goes on below main into libc.
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
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" ' 0 lost$' "$fixture: nothing lost"
	prof=$(last_profile "$out")
	ok "$([ -n "$prof" ]; echo $?)" "$fixture: a profile was written" || continue
	assert_table "$prof" "$table" "$fixture: "
	check_stacks "$prof" $(awk 'NF { print $1 }' <<<"$table")
	check_no_allocator_frames "$prof"

	# Below main is libc's start-up code: the unwinder got through main's frame.
	below=$(pprof_traces "$prof" alloc_objects | cut -f2 | grep -E '(^|;)main;' | sed 's/.*;main;//' |
		sort -u | head -n 1)
	ok "$([ -n "$below" ]; echo $?)" "$fixture: stacks go on below main into libc ($below)"
	# The frames between the leaf and main are the fixture's own call chain.
	like "$(pprof_traces "$prof" alloc_objects | cut -f2 | grep -m1 '^leak_malloc;\|^new_objects;')" \
		'^(leak_malloc|new_objects);main;' "$fixture: leaf, then main, nothing spurious between"
done

done_testing
