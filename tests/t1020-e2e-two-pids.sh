#!/bin/bash
# heaptrace -p A -p B -r 1: two processes traced at once; each gets its own
# profile file with its own exact numbers, and heaptrace exits 0 once both
# targets have exited.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_cxx-fp

out=$T/out
mkdir -p "$out"

start_fixture alloc_known-fp --wait
ok $? "alloc_known-fp started and waiting"
a=$FIX_PID
start_fixture alloc_cxx-fp --wait
ok $? "alloc_cxx-fp started and waiting"
b=$FIX_PID

start_heaptrace "$T/err" -p "$a" -p "$b" -r 1 -o "$out"
ok $? "heaptrace attached to both (two 'tracing pid' lines)" || { diag "$(cat "$T/err")"; done_testing; }
like "$(grep -c "tracing pid $a " "$T/err")" '^1$' "attach line for pid $a"
like "$(grep -c "tracing pid $b " "$T/err")" '^1$' "attach line for pid $b"

# The first target exits while the second is still waiting: heaptrace goes on.
kill -USR1 "$a"
wait_exit "$a" 20
is "$EXIT_STATUS" 0 "first fixture exited 0"
sleep 1
ok "$(is_running "$HT_PID"; echo $?)" "heaptrace keeps running while pid $b lives"

kill -USR1 "$b"
wait_exit "$b" 20
is "$EXIT_STATUS" 0 "second fixture exited 0"
wait_exit "$HT_PID" 30
ok $? "heaptrace exits after the last target exits"
is "$EXIT_STATUS" 0 "heaptrace exit status 0" || diag "$(cat "$T/err")"

pa=$(last_profile "$out" "$a")
pb=$(last_profile "$out" "$b")
like "$(basename "${pa:-none}")" "^alloc_known-fp\.$a\..*\.heap\.pb\.gz$" "profile for pid $a"
like "$(basename "${pb:-none}")" "^alloc_cxx-fp\.$b\..*\.heap\.pb\.gz$" "profile for pid $b"

if [ -n "$pa" ] && [ -n "$pb" ]; then
	assert_table "$pa" "$ALLOC_KNOWN_TABLE" "pid $a: "
	assert_table "$pb" "$ALLOC_CXX_TABLE" "pid $b: "
	# Neither profile sees the other process's functions.
	is "$(pprof_flat "$pa" alloc_objects new_objects)" 0 "pid $a's profile has nothing of pid $b"
	is "$(pprof_flat "$pb" alloc_objects leak_malloc)" 0 "pid $b's profile has nothing of pid $a"
	check_stacks "$pa" leak_malloc grow_realloc
	check_stacks "$pb" new_objects
fi

done_testing
