#!/bin/bash
# Live memory by age: heap_phases keeps 2000 blocks of 4096 bytes from
# alloc_old(), waits 11 s, then 2000 more from alloc_new(). Each profile
# splits a stack's in-use by age bucket (numeric label `age`, seconds), so
# `go tool pprof -tagfocus=age=10s:` selects the old blocks alone and
# -tagignore the new ones; -base still subtracts two dumps. Exact at -r 1,
# in both unwinding modes (the BPF live map and the daemon's sample store).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture heap_phases-fp heap_phases-nofp

BLOCKS=8192000 # 2000 x 4096

run_mode() {
	local mode=$1 fixture=$2
	local out=$T/out-$mode
	mkdir -p "$out"
	run_bounded 90 "$HEAPTRACE" -r 1 -i 1s --unwind "$mode" -o "$out" -- \
		"$FIXTURES/$fixture" --gap 11 --hold 3 >"$T/$mode.stdout" 2>"$T/$mode.err"
	is $? 0 "$mode: heaptrace -r 1 -i 1s -- heap_phases --gap 11 exits 0" || diag "$(tail -5 "$T/$mode.err")"
	local last base f
	last=$(last_profile "$out")
	# The base: the first dump of the gap, after alloc_old and before alloc_new.
	base=
	for f in $(profiles_of "$out"); do
		[ -z "$base" ] && [ "$(pprof_cum "$f" inuse_space alloc_old)" = "$BLOCKS" ] &&
			[ "$(pprof_cum "$f" inuse_space alloc_new)" = 0 ] && base=$f
	done
	ok "$([ -n "$last" ] && [ -n "$base" ]; echo $?)" "$mode: a final profile and one from the gap" ||
		return

	like "$(pprof -tags "$last" 2>/dev/null | sed -n '/^ age:/,/^$/p' | xargs)" \
		'^age: Total .* 10s .* 0$' "$mode: -tags lists the age buckets 10s (the old blocks) and 0 (the new)"
	is "$(pprof_cum "$last" inuse_space alloc_old -tagfocus=age=10s:)" "$BLOCKS" \
		"$mode: -tagfocus=age=10s: keeps alloc_old's 8192000 bytes"
	is "$(pprof_cum "$last" inuse_space alloc_new -tagfocus=age=10s:)" 0 \
		"$mode: -tagfocus=age=10s: drops alloc_new"
	is "$(pprof_cum "$last" inuse_space alloc_new -tagignore=age=10s:)" "$BLOCKS" \
		"$mode: -tagignore=age=10s: keeps alloc_new's 8192000 bytes"
	is "$(pprof_cum "$last" inuse_space alloc_old -tagignore=age=10s:)" 0 \
		"$mode: -tagignore=age=10s: drops alloc_old"
	is "$(pprof_cum "$last" inuse_space alloc_old)" "$BLOCKS" "$mode: unfiltered, alloc_old holds 8192000"
	is "$(pprof_cum "$last" alloc_space alloc_old)" "$BLOCKS" "$mode: alloc_space unchanged by the split"
	is "$(pprof_cum "$last" inuse_space alloc_old -base "$base")" 0 \
		"$mode: -base GAP LAST: alloc_old did not change"
	is "$(pprof_cum "$last" inuse_space alloc_new -base "$base")" "$BLOCKS" \
		"$mode: -base GAP LAST: alloc_new grew by 8192000"
	is "$(pprof_cum "$base" inuse_space alloc_old -tagfocus=age=:9s)" "$BLOCKS" \
		"$mode: in the gap's dump alloc_old's blocks were younger than 10 s"
}

run_mode dwarf heap_phases-nofp
run_mode fp heap_phases-fp
done_testing
