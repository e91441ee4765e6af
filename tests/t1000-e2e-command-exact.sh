#!/bin/bash
# heaptrace -r 1 -- FIXTURE: every allocation is recorded, so the profile's
# per-function numbers must equal what the fixtures allocate and hold
# (the tables at the top of tests/fixtures/alloc_known.c and alloc_cxx.cc).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_cxx-fp

# run_command_mode FIXTURE TABLE
run_command_mode() {
	local fixture=$1 table=$2
	local out=$T/out-$fixture err=$T/err-$fixture
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/$fixture" >"$err.stdout" 2>"$err"
	local rc=$?
	is "$rc" 0 "$fixture: heaptrace -r 1 -- $fixture exits 0 by itself" || diag "$(cat "$err")"
	local comm=${fixture:0:15}
	like "$(grep -m1 'tracing pid' "$err")" "^heaptrace: tracing pid [0-9]+ \($comm\)" \
		"$fixture: stderr says 'tracing pid N ($comm)', the command's name, not heaptrace's"
	like "$(grep -E ': inuse .* lost$' "$err" | tail -n 1)" "$STATUS_RE_HEAD\($comm\)$STATUS_RE_TAIL_NOLOSS" \
		"$fixture: final status line, nothing lost"

	local n prof
	n=$(profiles_of "$out" | wc -l)
	ok "$([ "$n" -ge 1 ]; echo $?)" "$fixture: at least one profile written ($n)"
	prof=$(last_profile "$out")
	if [ -z "$prof" ]; then
		diag "no profile in $out: $(ls -la "$out")"
		return
	fi
	like "$(basename "$prof")" "^${comm//./\\.}\.[0-9]+\.[0-9]{8}T[0-9]{6}Z\.heap\.pb\.gz$" "$fixture: file name <comm>.<pid>.<time>.heap.pb.gz"
	is "$(pprof -raw "$prof" 2>/dev/null | sed -n 's/^Period: //p')" 1 "$fixture: profile period is 1"
	is "$(pprof -raw "$prof" 2>/dev/null | sed -n '/^Samples:/{n;p}' | xargs)" \
		"alloc_objects/count alloc_space/bytes inuse_objects/count inuse_space/bytes[dflt]" \
		"$fixture: Go heap sample types, in order, default inuse_space"

	assert_table "$prof" "$table" "$fixture: "
	check_stacks "$prof" $(awk 'NF { print $1 }' <<<"$table")
	check_no_allocator_frames "$prof"
}

run_command_mode alloc_known-fp "$ALLOC_KNOWN_TABLE"
run_command_mode alloc_cxx-fp "$ALLOC_CXX_TABLE"

done_testing
