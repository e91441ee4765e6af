#!/bin/bash
# heaptrace -p PID -r 1: attach to a fixture that is already running and
# waiting; it allocates once traced, exits, and heaptrace writes its final
# profile and exits 0 by itself. The numbers are exact, as in t1000.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_cxx-fp

attach_and_check() {
	local fixture=$1 table=$2
	local out=$T/out-$fixture err=$T/err-$fixture comm=${1:0:15}
	mkdir -p "$out"

	start_fixture "$fixture" --wait
	ok $? "$fixture: started and waiting (pid $FIX_PID)"
	local fpid=$FIX_PID

	start_heaptrace "$err" -p "$fpid" -r 1 -o "$out"
	ok $? "$fixture: heaptrace attached ('tracing pid')" || return
	like "$(grep 'tracing pid' "$err" | head -n 1)" "^heaptrace: tracing pid $fpid \($comm\)" \
		"$fixture: attach line names pid and comm"

	kill -USR1 "$fpid"
	wait_exit "$fpid" 20
	is "$EXIT_STATUS" 0 "$fixture: fixture allocated and exited 0"
	wait_exit "$HT_PID" 30
	ok $? "$fixture: heaptrace exits by itself after its only target exits"
	is "$EXIT_STATUS" 0 "$fixture: heaptrace exit status 0" || diag "$(cat "$err")"

	local files prof
	files=$(profiles_of "$out" "$fpid")
	ok "$([ -n "$files" ]; echo $?)" "$fixture: profile(s) written for pid $fpid"
	prof=$(last_profile "$out" "$fpid")
	[ -n "$prof" ] || return
	like "$(basename "$prof")" "^${comm}\.${fpid}\.[0-9]{8}T[0-9]{6}Z\.heap\.pb\.gz$" \
		"$fixture: file name is $comm.$fpid.<UTC time>.heap.pb.gz"
	local stamp now
	stamp=$(basename "$prof" | sed -E 's/.*\.([0-9]{8})T([0-9]{2})([0-9]{2})([0-9]{2})Z\.heap\.pb\.gz$/\1 \2:\3:\4/')
	now=$(date -u +%s)
	stamp=$(date -u -d "$stamp" +%s 2>/dev/null || echo 0)
	ok "$([ $((now - stamp)) -ge 0 ] && [ $((now - stamp)) -le 120 ]; echo $?)" \
		"$fixture: file name time is UTC now ($((now - stamp)) s ago)"
	like "$(grep -E ': inuse .* lost$' "$err" | tail -n 1)" "$STATUS_RE_HEAD\($comm\)$STATUS_RE_TAIL_NOLOSS" \
		"$fixture: final status line, nothing lost"

	assert_table "$prof" "$table" "$fixture: "
	check_stacks "$prof" $(awk 'NF { print $1 }' <<<"$table")
	check_no_allocator_frames "$prof"
}

attach_and_check alloc_known-fp "$ALLOC_KNOWN_TABLE"
attach_and_check alloc_cxx-fp "$ALLOC_CXX_TABLE"

done_testing
