#!/bin/bash
# Least privilege: once attached, heaptrace keeps only the capabilities that
# tracing still needs (CAP_BPF, CAP_PERFMON, CAP_SYS_PTRACE,
# CAP_DAC_READ_SEARCH, CAP_CHECKPOINT_RESTORE, and CAP_SYS_ADMIN only while
# uprobe session links are used), in its effective, permitted and bounding
# sets, none inheritable or ambient; no_new_privs is set and a seccomp
# filter is installed. Checked in /proc/PID/status of the running heaptrace
# in -p mode with --http, with --no-session, in -- COMMAND mode; tracing is
# still exact after the drop, for the first target, for a child that
# appears later (--follow-forks) and after the safety valve has put a
# target's probes back on (new attaches); --keep-privileges keeps them all.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-nofp alloc_known-fp forker-fp call_burst-fp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

# Bits: DAC_READ_SEARCH 2, SYS_PTRACE 19, SYS_ADMIN 21, PERFMON 38, BPF 39, CHECKPOINT_RESTORE 40.
MASK_SESSIONS=000001c000280004
MASK_CLASSIC=000001c000080004

status_of() {
	sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status"
}

# wait_dropped PID: until heaptrace has set no_new_privs (the last step but the filter).
wait_dropped() {
	local deadline=$((SECONDS + 10))
	while [ "$(status_of "$1" Seccomp)" != 2 ]; do
		[ $SECONDS -lt $deadline ] || return 1
		is_running "$1" || return 1
		sleep 0.05
	done
}

# check_status LABEL PID MASK
check_status() {
	local label=$1 pid=$2 mask=$3 f
	wait_dropped "$pid"
	ok $? "$label: heaptrace dropped its privileges after attaching" || return
	for f in CapEff CapPrm CapBnd; do
		is "$(status_of "$pid" $f)" "$mask" "$label: $f is the kept set"
	done
	is "$(status_of "$pid" CapInh)" 0000000000000000 "$label: CapInh empty"
	is "$(status_of "$pid" CapAmb)" 0000000000000000 "$label: CapAmb empty"
	is "$(status_of "$pid" NoNewPrivs)" 1 "$label: NoNewPrivs"
	is "$(status_of "$pid" Seccomp)" 2 "$label: a seccomp filter"
}

# 1. -p with --http: the drop, then the first allocations, exact over HTTP.
start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -v -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
grep -q 'probes: uprobe sessions' "$T/err" && mask=$MASK_SESSIONS || mask=$MASK_CLASSIC
check_status "-p --http" "$HT_PID" "$mask"
like "$(grep 'privileges: kept' "$T/err")" 'kept cap_bpf,cap_perfmon,cap_sys_ptrace,cap_dac_read_search,cap_checkpoint_restore' \
	"-v says what was kept"
kill -USR1 "$fix"
for _ in $(seq 100); do
	curl -s -m 5 "$BASE_URL/heap?debug=1" >"$T/text" 2>/dev/null
	[ "$(legacy_record "$T/text" edge_cases)" = "0: 0 [1: 500]" ] && break
	sleep 0.1
done
curl -s -m 10 -o "$T/heap.pb.gz" "$BASE_URL/heap"
assert_table "$T/heap.pb.gz" "$ALLOC_KNOWN_TABLE" "after the drop, over HTTP: "
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "-p --http: exits 0 on SIGINT"
is "$(grep -c 'warning\|error' "$T/err")" 0 "-p --http: no warning nor error" || diag "$(grep 'warning\|error' "$T/err")"
kill "$fix"

# 2. Classic uprobes: CAP_SYS_ADMIN goes too.
start_fixture alloc_known-nofp --wait || bail_out "fixture did not start"
fix=$FIX_PID
mkdir -p "$T/o2"
start_heaptrace "$T/err2" --no-session -r 1 -i 1h -o "$T/o2" -p "$fix" || bail_out "heaptrace did not start"
check_status "--no-session" "$HT_PID" "$MASK_CLASSIC"
kill -USR1 "$fix"
wait_exit "$fix" 20
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "--no-session: exits 0 with its target"
assert_table "$(last_profile "$T/o2" "$fix")" "$ALLOC_KNOWN_TABLE" "--no-session after the drop: "

# 3. -- COMMAND: the drop happens once the command is attached.
mkdir -p "$T/o3"
start_heaptrace "$T/err3" -r 1 -i 1h -o "$T/o3" -- "$FIXTURES/alloc_known-fp" --hold 4 ||
	bail_out "heaptrace did not start"
check_status "-- COMMAND" "$HT_PID" "$mask"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "-- COMMAND: exits 0 with the command"
assert_table "$(last_profile "$T/o3")" "$ALLOC_KNOWN_TABLE" "-- COMMAND after the drop: "

# 4. A child forked after the drop gets probes of its own, exact.
mkdir -p "$T/o4"
start_fixture forker-fp --wait || bail_out "forker did not start"
parent=$FIX_PID
pout=$FIX_OUT
start_heaptrace "$T/err4" --follow-forks -p "$parent" -r 1 -i 500ms -o "$T/o4" ||
	bail_out "heaptrace did not start"
check_status "--follow-forks" "$HT_PID" "$mask"
kill -USR1 "$parent"
wait_for_line "$pout" '^child [0-9]+$' 20 1 "$parent"
child=$(awk '/^child / { print $2 }' "$pout")
wait_for_line "$T/err4" "^heaptrace: tracing pid $child \\(forker-fp\\)" 20 1 "$HT_PID"
ok $? "--follow-forks: the child (pid $child) is traced after the drop" || diag "$(cat "$T/err4")"
kill -USR1 "$child"
wait_exit "$parent" 20
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "--follow-forks: exits 0"
assert_table "$(last_profile "$T/o4" "$child")" '
child_malloc  4 4000 4 4000
child_calloc  2 2000 2 2000
child_churn   5  500 0    0
' "child traced after the drop: "

# 5. The safety valve takes a target's probes off and attaches them again later.
mkdir -p "$T/o5"
start_fixture call_burst-fp --wait || bail_out "call_burst did not start"
start_heaptrace "$T/err5" -r 1 -i 500ms --max-call-rate 1000 --cool-down 1s -o "$T/o5" \
	-p "$FIX_PID" || bail_out "heaptrace did not start"
check_status "--max-call-rate" "$HT_PID" "$mask"
kill -USR1 "$FIX_PID"
wait_for_line "$T/err5" 'exceed --max-call-rate' 20 1 "$HT_PID"
kill -USR1 "$FIX_PID"
wait_for_line "$FIX_OUT" '^ready$' 20 2 "$FIX_PID"
wait_for_line "$T/err5" 'probes back on' 20 1 "$HT_PID"
ok $? "valve: the probes came back after the cool-down" || diag "$(tail -n 5 "$T/err5")"
kill -USR1 "$FIX_PID"
wait_exit "$FIX_PID" 20
wait_exit "$HT_PID" 30
prof=$(last_profile "$T/o5" "$FIX_PID")
is "$(pprof_flat "$prof" alloc_objects after_cooling)" 10 "valve re-attach after the drop: after_cooling 10 allocations"
is "$(pprof_flat "$prof" inuse_space after_cooling)" 40960 "valve re-attach after the drop: 40960 B in use"
is "$(grep -c 'not permitted' "$T/err5")" 0 "valve: no attach refused" || diag "$(grep 'not permitted' "$T/err5" | head -n 3)"

# 6. An output directory of another user (`sudo heaptrace` in one's home): CAP_DAC_OVERRIDE
# stays, or the profiles could not be written there.
odir=$T/nobody-dir
mkdir -p "$odir"
chown nobody "$odir"
chmod 755 "$odir"
start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_heaptrace "$T/err7" -r 1 -i 1h --unsafe-output-dir -o "$odir" -p "$fix" || bail_out "heaptrace did not start"
check_status "-o another user's directory" "$HT_PID" \
	"$(printf '%016x' $((0x$mask | 2)))"
kill -USR1 "$fix"
sleep 0.5
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "another user's directory: exits 0"
assert_table "$(last_profile "$odir" "$fix")" "$ALLOC_KNOWN_TABLE" "written into another user's directory: "
kill "$fix"

# 7. --keep-privileges keeps root's whole set.
start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_heaptrace "$T/err6" --keep-privileges -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
sleep 0.5
is "$(status_of "$HT_PID" CapEff)" "$(status_of $$ CapEff)" "--keep-privileges: CapEff as the caller's"
is "$(status_of "$HT_PID" NoNewPrivs)" 0 "--keep-privileges: no NoNewPrivs"
is "$(status_of "$HT_PID" Seccomp)" 0 "--keep-privileges: no seccomp"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
kill "$fix"
done_testing
