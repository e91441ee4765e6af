#!/bin/bash
# Every allocator: the object that serves a process's malloc is found the
# way the dynamic linker resolves it and probed, with its own entry points.
# At -r 1 the per-function numbers are exact for a program linked against
# Debian's jemalloc (including mallocx, rallocx, sdallocx, dallocx), for
# tcmalloc preloaded (directly, and through `env LD_PRELOAD=...`, which
# execs: the new image is probed afresh), for a static binary, and for a
# process attached with -p.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_jemalloc-fp alloc_jemalloc-nofp alloc_known-nofp alloc_known-static

TCMALLOC=libtcmalloc_minimal.so.4
JEMALLOC_TABLE="$ALLOC_KNOWN_TABLE
leak_mallocx          6 18000 6 18000
leak_mallocx_aligned  2  2048 2  2048
grow_rallocx          2  5200 1  5000
churn_sdallocx        8  5600 0     0
churn_dallocx         4  1200 0     0
malloc_sdallocx       3  2700 0     0
"

# run_exact NAME ALLOCATOR TABLE COMMAND...: heaptrace -r 1 -- COMMAND, exact table.
run_exact() {
	local name=$1 allocator=$2 table=$3
	shift 3
	local out=$T/out-$name
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$@" >"$T/stdout" 2>"$T/err"
	is $? 0 "$name: heaptrace exits 0" || diag "$(cat "$T/err")"
	like "$(grep 'tracing pid' "$T/err" | tail -n 1)" ": $allocator allocator," \
		"$name: the $allocator allocator is found"
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" ' 0 lost$' "$name: nothing lost"
	local prof
	# A wrapper's image (env) has a series of its own, under its own name.
	prof=$(profiles_of "$out" | grep -v '/env\.' | tail -n 1)
	assert_table "$prof" "$table" "$name: "
	check_no_allocator_frames "$prof"
}

run_exact jemalloc-fp jemalloc "$JEMALLOC_TABLE" "$FIXTURES/alloc_jemalloc-fp"
run_exact jemalloc-nofp jemalloc "$JEMALLOC_TABLE" "$FIXTURES/alloc_jemalloc-nofp"
run_exact tcmalloc-env-exec tcmalloc "$ALLOC_KNOWN_TABLE" \
	env LD_PRELOAD="$TCMALLOC" "$FIXTURES/alloc_known-nofp"
run_exact static glibc "$ALLOC_KNOWN_TABLE" "$FIXTURES/alloc_known-static"

# A running process with tcmalloc preloaded, attached with -p.
out=$T/out-pid
mkdir -p "$out"
LD_PRELOAD=$TCMALLOC start_fixture alloc_known-nofp --wait || bail_out "fixture did not start"
fix=$FIX_PID
"$HEAPTRACE" --list-allocators -p "$fix" >"$T/list" 2>&1
is $? 0 "--list-allocators -p exits 0"
like "$(cat "$T/list")" 'tcmalloc' "--list-allocators names tcmalloc"
like "$(cat "$T/list")" 'LD_PRELOAD' "--list-allocators says why: LD_PRELOAD"
start_heaptrace "$T/ht.err" -r 1 -p "$fix" -o "$out" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "-p tcmalloc: heaptrace exits 0 after the target"
assert_table "$(last_profile "$out")" "$ALLOC_KNOWN_TABLE" "-p tcmalloc: "

done_testing
