#!/bin/bash
# SIGINT and SIGTERM to heaptrace: it writes a final profile (exact
# numbers at -r 1) and exits 0; the profile it wrote earlier is left
# byte-for-byte intact; the traced process is not disturbed and keeps
# running after heaptrace has detached.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# wait_for_profiles DIR PID N TIMEOUT_S
wait_for_profiles() {
	local deadline=$((SECONDS + $4))
	while [ "$(profiles_of "$1" "$2" | wc -l)" -lt "$3" ]; do
		[ $SECONDS -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

for sig in INT TERM; do
	out=$T/out-$sig
	mkdir -p "$out"
	start_fixture alloc_known-fp --wait --hold 120
	fpid=$FIX_PID
	start_heaptrace "$T/err-$sig" -p "$fpid" -r 1 -i 3s -o "$out"
	ok $? "SIG$sig: heaptrace attached to pid $fpid" || continue
	kill -USR1 "$fpid"

	wait_for_profiles "$out" "$fpid" 1 20
	ok $? "SIG$sig: a periodic profile was written" || continue
	early=$(first_profile "$out" "$fpid")
	# Let the clock leave that file's second, so a final dump cannot share
	# its name; the next periodic dump is still 3 s away.
	sleep 1.2
	sum_before=$(sha256sum <"$early")
	n_before=$(profiles_of "$out" "$fpid" | wc -l)

	kill -"$sig" "$HT_PID"
	wait_exit "$HT_PID" 20
	ok $? "SIG$sig: heaptrace exits within 20 s"
	is "$EXIT_STATUS" 0 "SIG$sig: exit status 0" || diag "$(cat "$T/err-$sig")"
	like "$(grep -E ': inuse .* lost$' "$T/err-$sig" | tail -n 1)" "$STATUS_RE_HEAD\(alloc_known-fp\)$STATUS_RE_TAIL" \
		"SIG$sig: final status line"

	n_after=$(profiles_of "$out" "$fpid" | wc -l)
	ok "$([ "$n_after" -gt "$n_before" ]; echo $?)" "SIG$sig: a final profile was added ($n_before -> $n_after files)"
	is "$(sha256sum <"$early")" "$sum_before" "SIG$sig: the earlier profile is unchanged"
	pprof -top "$early" >/dev/null 2>&1
	is $? 0 "SIG$sig: the earlier profile still reads"
	final=$(last_profile "$out" "$fpid")
	is "$(pprof_flat "$final" inuse_space leak_malloc)" 10000 "SIG$sig: final profile: leak_malloc inuse_space 10000"
	is "$(pprof_flat "$final" alloc_objects churn)" 1000 "SIG$sig: final profile: churn alloc_objects 1000"
	is "$(ls "$out" | grep -vcE "$PROFILE_RE")" 0 "SIG$sig: no temporary files left behind"

	sleep 0.5
	ok "$(is_running "$fpid"; echo $?)" "SIG$sig: the traced process is still running after heaptrace left"
	kill -TERM "$fpid"
	wait_exit "$fpid" 10
done

done_testing
