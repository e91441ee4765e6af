#!/bin/bash
# --alloc-only: free is not probed (the free-like probes are gone), allocations are counted
# exactly at -r 1, the in-use sample types are present but zero, and the
# profile's comment says why.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-nofp alloc_cxx-fp

# The fixtures' tables with in-use zeroed: nothing is seen being freed.
zero_inuse() {
	awk 'NF { print $1, $2, $3, 0, 0 }' <<<"$1"
}

probes_of() {
	sed -nE 's/.*tracing pid [0-9]+ \([^)]*\): .* ([0-9]+) probes.*/\1/p' "$1" | head -n 1
}

for mode in fp dwarf; do
	for fixture in alloc_known-nofp alloc_cxx-fp; do
		table=$ALLOC_KNOWN_TABLE
		[ $fixture = alloc_cxx-fp ] && table=$ALLOC_CXX_TABLE
		out=$T/out-$mode-$fixture
		mkdir -p "$out" "$out.full"
		run_bounded 60 "$HEAPTRACE" --alloc-only --unwind $mode -r 1 -o "$out" -- \
			"$FIXTURES/$fixture" >"$T/stdout" 2>"$T/err"
		is $? 0 "$fixture --unwind $mode --alloc-only: exits 0" || diag "$(cat "$T/err")"
		run_bounded 60 "$HEAPTRACE" --unwind $mode -r 1 -o "$out.full" -- \
			"$FIXTURES/$fixture" >"$T/stdout" 2>"$T/err.full"
		# Every free-like entry point (free, and sized or aligned deletes that do work
		# of their own) goes; nothing else does.
		n_alloc=$(probes_of "$T/err")
		n_full=$(probes_of "$T/err.full")
		ok "$([ -n "$n_alloc" ] && [ "$n_alloc" -lt "$n_full" ] && [ "$n_alloc" -ge $((n_full - 4)) ]; echo $?)" \
			"$fixture --unwind $mode --alloc-only: the free probes are gone ($n_alloc of $n_full)"
		like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" \
			"$STATUS_RE_HEAD.*: inuse 0 B \(\+0 B(; RssAnon [^)]*)?\) in 0 objects, .*, 0 lost$" \
			"$fixture --unwind $mode --alloc-only: status line shows nothing in use, nothing lost"
		prof=$(last_profile "$out")
		is "$(pprof -raw "$prof" 2>/dev/null | sed -n '/^Samples:/{n;p}' | xargs)" \
			"alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]" \
			"$fixture --unwind $mode --alloc-only: the four Go heap sample types"
		like "$(pprof -raw "$prof" 2>/dev/null | grep '^Comment: alloc-only')" \
			'free is not traced \(--alloc-only\), so the inuse sample types are zero' \
			"$fixture --unwind $mode --alloc-only: the comment says in-use is not tracked"
		assert_table "$prof" "$(zero_inuse "$table")" "$fixture --unwind $mode --alloc-only: "
		is "$(pprof_total "$prof" inuse_space)" 0 "$fixture --unwind $mode --alloc-only: in-use total 0"
	done
done

done_testing
