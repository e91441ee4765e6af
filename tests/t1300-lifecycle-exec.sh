#!/bin/bash
# exec of a -p target: a shell traced with -p execs a fixture. The shell's
# image gets its final profile, the new image a new series (its own file
# name, its allocator planned afresh) with the exact numbers at -r 1; and
# heaptrace ends with it.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp

exec_case() {
	local fixture=$1
	shift
	local out=$T/out-$fixture err=$T/err-$fixture comm=${fixture:0:15}
	mkdir -p "$out"
	rm -f "$T/go"
	mkfifo "$T/go"

	# The target: a shell that execs the fixture once told to.
	env --default-signal=INT,TERM bash -c 'read -r _ <"$1"; exec "$2" --wait' \
		sh "$T/go" "$FIXTURES/$fixture" >"$T/$fixture.out" 2>&1 &
	local pid=$!
	track_pid "$pid"
	sleep 0.2

	start_heaptrace "$err" -p "$pid" -r 1 -i 500ms -o "$out" "$@"
	ok $? "$fixture: heaptrace attached to the shell (pid $pid)" || return
	echo go >"$T/go"
	wait_for_line "$err" "^heaptrace: tracing pid $pid \\($comm\\)" 20 1 "$HT_PID"
	ok $? "$fixture: the new image is traced after the exec" || diag "$(cat "$err")"
	like "$(grep "pid $pid (bash) exec'ed" "$err")" "exec'ed: its profile of that image is final" \
		"$fixture: the exec is said"

	wait_for_line "$T/$fixture.out" '^ready$' 20 1 "$pid"
	kill -USR1 "$pid"
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$fixture: heaptrace exits 0 when the new image exits" ||
		diag "$(cat "$err")"

	ok "$([ -n "$(profiles_of "$out" | grep "/bash\\.$pid\\.")" ]; echo $?)" \
		"$fixture: the shell's image has its own series (bash.$pid.*)"
	local prof
	prof=$(profiles_of "$out" | grep "/$comm\\.$pid\\." | tail -n 1)
	ok "$([ -n "$prof" ]; echo $?)" "$fixture: the new image has its own series ($comm.$pid.*)" ||
		return
	assert_table "$prof" "$ALLOC_KNOWN_TABLE" "$fixture after exec: "
	like "$(grep -E "^heaptrace: pid $pid \\($comm\\).*lost$" "$err" | tail -n 1)" ' 0 lost$' \
		"$fixture: nothing lost"
	# The shell's profile holds none of the new image's functions.
	prof=$(profiles_of "$out" | grep "/bash\\.$pid\\." | tail -n 1)
	is "$(pprof_flat "$prof" alloc_objects leak_malloc)" 0 "$fixture: the shell's series has none of the fixture's allocations"
}

exec_case alloc_known-fp --unwind fp
exec_case alloc_known-nofp

done_testing
