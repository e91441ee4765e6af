#!/bin/bash
# fork inheritance: with --follow-forks a child holds copies of its parent's
# live sampled blocks. They count in the child's in-use under the parent's
# stacks, never as the child's allocations; the child's frees of them count,
# the parent's frees after the fork do not touch the child's copies (and the
# other way round). Exact numbers at -r 1 in both profiles, frame-pointer and
# DWARF mode (tests/fixtures/fork_inherit.c has the table). In the orphan
# cases the parent exits first and its data is purged before the child's
# final profile, which must still show the inherited blocks under their
# stacks. The same, exact, for processes traced through the in-process
# sampler (its USDT probes in parent and child, the child's frees of
# inherited blocks told by the child's copy of the sampler).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture fork_inherit-fp fork_inherit-nofp

# function alloc_objects alloc_space inuse_objects inuse_space
PARENT_TABLE='
parent_kept     3  900 3  900
parent_shared   2 1400 2 1400
parent_dropped  2 1000 0    0
parent_freed    4  200 0    0
child_own       0    0 0    0
child_churn     0    0 0    0
'
CHILD_TABLE='
parent_kept     0    0 3  900
parent_shared   0    0 0    0
parent_dropped  0    0 2 1000
parent_freed    0    0 0    0
child_own       4  800 4  800
child_churn     3  192 0    0
'

# inherit_case NAME FIXTURE ORPHAN HEAPTRACE_ARGS...
inherit_case() {
	local name=$1 fixture=$2 orphan=$3
	shift 3
	local out=$T/out-$name err=$T/err-$name comm=${fixture:0:15} fix_args=(--wait)
	mkdir -p "$out"
	[ "$orphan" = 1 ] && fix_args+=(--orphan)

	start_fixture "$fixture" "${fix_args[@]}" || bail_out "$fixture did not start"
	local parent=$FIX_PID out_file=$FIX_OUT
	start_heaptrace "$err" -p "$parent" -r 1 -i 500ms -o "$out" --follow-forks "$@"
	ok $? "$name: heaptrace attached to the parent (pid $parent)" || return
	kill -USR1 "$parent"
	wait_for_line "$out_file" '^parent done$' 20 1 "$parent"
	ok $? "$name: the parent allocated, forked and freed parent_dropped's blocks" || return
	local child
	child=$(awk '/^child / { print $2 }' "$out_file")
	ok "$([ -n "$child" ]; echo $?)" "$name: the parent forked (child $child)" || return
	wait_for_line "$err" "^heaptrace: tracing pid $child \\($comm\\)" 20 1 "$HT_PID"
	ok $? "$name: the child is traced" || diag "$(cat "$err")"
	kill -USR1 "$child"
	wait_for_line "$out_file" '^child done$' 20 1 "$child"
	ok $? "$name: the child freed, allocated and is waiting" || return
	if [ "$orphan" = 1 ]; then
		wait_exit "$parent" 20
		is "$EXIT_STATUS" 0 "$name: the parent exited 0 before its child"
		wait_for_line "$err" "^heaptrace: pid $parent \\($comm\\) exited" 20 1 "$HT_PID"
		ok $? "$name: heaptrace saw the parent exit"
		# The next interval purges the parent's data, then profiles the child.
		local n
		n=$(grep -cE "^heaptrace: pid $child .*: inuse " "$err")
		wait_for_line "$err" "^heaptrace: pid $child .*: inuse " 20 $((n + 1)) "$HT_PID"
		ok $? "$name: the child was profiled after its parent's data was purged"
		kill -USR1 "$child"
		wait_exit "$child" 20
	else
		kill -USR1 "$child"
		wait_exit "$parent" 20
		is "$EXIT_STATUS" 0 "$name: parent and child exited 0"
	fi
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$name: heaptrace exits 0 when its targets are gone" || diag "$(cat "$err")"

	local pprof cprof
	pprof=$(last_profile "$out" "$parent")
	cprof=$(last_profile "$out" "$child")
	ok "$([ -n "$pprof" ] && [ -n "$cprof" ]; echo $?)" \
		"$name: a profile series for the parent and one for the child" || return
	assert_table "$pprof" "$PARENT_TABLE" "$name parent: "
	assert_table "$cprof" "$CHILD_TABLE" "$name child: "

	# The inherited blocks keep the parent's stacks: <function> <- main, whatever
	# is above main; "in-use bytes under that stack, in-use bytes elsewhere".
	local traces fn bytes
	traces=$(pprof_traces "$cprof" inuse_space)
	for fn in parent_kept:900 parent_dropped:1000; do
		bytes=${fn#*:}
		fn=${fn%%:*}
		is "$(awk -F'\t' -v fn="$fn" '
			(";" $2 ";") ~ (";" fn ";") {
				if ((";" $2 ";") ~ ("^;" fn ";main;")) under += $1; else elsewhere += $1
			}
			END { print under + 0, elsewhere + 0 }' <<<"$traces")" "$bytes 0" \
			"$name child: $fn's inherited blocks are under the parent's stack ($fn <- main)"
	done
	like "$(grep -E "^heaptrace: pid $child .*: inuse .* lost$" "$err" | tail -n 1)" \
		"$STATUS_RE_HEAD\($comm\)$STATUS_RE_TAIL_NOLOSS" "$name child: final status line, nothing lost"
}

inherit_case fp fork_inherit-fp 0 --unwind fp
inherit_case dwarf fork_inherit-nofp 0 --unwind dwarf
inherit_case orphan-fp fork_inherit-fp 1 --unwind fp
inherit_case orphan-dwarf fork_inherit-nofp 1 --unwind dwarf

FIX_ENV=("LD_PRELOAD=$(realpath "$BUILD/libheaptrace-sampler.so")" HEAPTRACE_SAMPLE_RATE=1)
for mode in fp dwarf; do
	fixture=fork_inherit-fp
	[ $mode = dwarf ] && fixture=fork_inherit-nofp
	inherit_case sampler-$mode $fixture 0 --unwind $mode
	is "$(grep -c 'tracing pid .*in-process sampler (otel_memory USDT)' "$T/err-sampler-$mode")" 2 \
		"sampler-$mode: parent and child traced through the sampler's probes"
done
FIX_ENV=()

done_testing
