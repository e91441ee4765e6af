#!/bin/bash
# fork: with --follow-forks the child of a -p target gets its own profile
# series with its exact numbers at -r 1 (the blocks it inherited are not its
# allocations, and it frees them all: t1315 tests inheritance itself);
# without it the child is not traced.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture forker-fp forker-nofp

CHILD_TABLE='
child_malloc  4 4000 4 4000
child_calloc  2 2000 2 2000
child_churn   5  500 0    0
'
PARENT_TABLE='
parent_malloc 3 1500 3 1500
'

# fork_case NAME FOLLOW FIXTURE ARGS...
fork_case() {
	local name=$1 follow=$2 fixture=$3
	shift 3
	local out=$T/out-$name err=$T/err-$name comm=${fixture:0:15}
	mkdir -p "$out"

	start_fixture "$fixture" --wait || bail_out "$fixture did not start"
	local parent=$FIX_PID out_file=$FIX_OUT
	start_heaptrace "$err" -p "$parent" -r 1 -i 500ms -o "$out" "$@"
	ok $? "$name: heaptrace attached to the parent (pid $parent)" || return
	kill -USR1 "$parent"
	wait_for_line "$out_file" '^child [0-9]+$' 20 1 "$parent"
	local child
	child=$(awk '/^child / { print $2 }' "$out_file")
	ok "$([ -n "$child" ]; echo $?)" "$name: the parent forked (child $child)" || return
	if [ "$follow" = 1 ]; then
		wait_for_line "$err" "^heaptrace: tracing pid $child \\($comm\\)" 20 1 "$HT_PID"
		ok $? "$name: the child is traced" || diag "$(cat "$err")"
	else
		sleep 0.5
	fi
	kill -USR1 "$child"
	wait_exit "$parent" 20
	is "$EXIT_STATUS" 0 "$name: parent and child exited 0"
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$name: heaptrace exits 0 when its targets are gone" || diag "$(cat "$err")"

	assert_table "$(last_profile "$out" "$parent")" "$PARENT_TABLE" "$name parent: "
	is "$(pprof_flat "$(last_profile "$out" "$parent")" alloc_objects child_malloc)" 0 \
		"$name: the parent's profile has none of the child's allocations"
	if [ "$follow" = 1 ]; then
		local prof
		prof=$(last_profile "$out" "$child")
		ok "$([ -n "$prof" ]; echo $?)" "$name: the child has its own series ($comm.$child.*)" ||
			return
		assert_table "$prof" "$CHILD_TABLE" "$name child: "
		is "$(pprof_flat "$prof" alloc_objects parent_malloc)" 0 \
			"$name: inherited blocks are not the child's"
	else
		is "$(profiles_of "$out" "$child" | wc -l)" 0 "$name: no profile of the child"
		is "$(grep -c "pid $child " "$err")" 0 "$name: the child is never mentioned"
	fi
}

fork_case follow-fp 1 forker-fp --follow-forks --unwind fp
fork_case follow-dwarf 1 forker-nofp --follow-forks
fork_case no-follow 0 forker-fp --unwind fp

done_testing
