# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# lib-push.sh - the push tests' receiver (tests/pyroscope-receiver.py: the
# documented checks of Pyroscope's POST /ingest) and what they read of it.
# Sourced after lib.sh.

RECEIVER=$TOPDIR/tests/pyroscope-receiver.py

# start_receiver DIR [PORT] [ARGS...]: starts the receiver on loopback
# (PORT, or a free one), saving into DIR; sets RCV_PID and RCV_PORT.
start_receiver() {
	local dir=$1 port=${2:-0}
	shift 2 2>/dev/null || shift
	mkdir -p "$dir"
	rm -f "$dir/port"
	python3 "$RECEIVER" --dir "$dir" --port "$port" --port-file "$dir/port" "$@" \
		>>"$dir/receiver.log" 2>&1 &
	RCV_PID=$!
	track_pid "$RCV_PID"
	local i
	for i in $(seq 1 100); do
		[ -s "$dir/port" ] && break
		sleep 0.05
	done
	RCV_PORT=$(cat "$dir/port" 2>/dev/null)
	[ -n "$RCV_PORT" ] || diag "receiver did not start: $(cat "$dir/receiver.log")"
}

stop_receiver() {
	kill "$RCV_PID" 2>/dev/null
	wait "$RCV_PID" 2>/dev/null
}

# accepted DIR: the requests the receiver took (JSON lines).
accepted() {
	grep '"code": 200' "$1/requests.jsonl" 2>/dev/null
}

# accepted_field DIR EXPR: a python expression over each accepted request r, one line each.
accepted_field() {
	accepted "$1" | python3 -c '
import json, sys
for line in sys.stdin:
    r = json.loads(line)
    print('"$2"')'
}

# times_of FILE...: each profile's time_nanos, sorted.
times_of() {
	[ $# -gt 0 ] || return 0
	python3 "$RECEIVER" --time-of "$@" | sort
}

# sum_flat SAMPLE_INDEX FUNCTION FILE...: the function's flat values added over the profiles.
sum_flat() {
	local si=$1 fn=$2 f total=0 v
	shift 2
	for f in "$@"; do
		v=$(pprof_flat "$f" "$si" "$fn")
		total=$((total + ${v:-0}))
	done
	echo "$total"
}
