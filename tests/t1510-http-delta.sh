#!/bin/bash
# `go tool pprof -seconds 2 http://.../debug/pprof/heap` gets a delta
# profile: what was allocated (and how in-use changed) during those two
# seconds only. alloc_known runs one round of its table every second; the
# request is sent just after a round was seen, so exactly the next two
# rounds fall inside the window. The window must not block the daemon:
# other requests are answered meanwhile. Frame-pointer mode, so the
# snapshot comes from the BPF aggregation.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-fp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

start_fixture alloc_known-fp --wait --repeat 12 --hold 1 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" --unwind fp -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
url=$BASE_URL/heap

rounds() {
	curl -s -m 5 "$url?debug=1" >"$T/r.txt" 2>/dev/null
	legacy_record "$T/r.txt" leak_malloc | awk '{ print $1 / 10 }'
}

# Wait for a round to land (rounds 1 s apart), then ask at once.
r0=$(rounds)
for _ in $(seq 100); do
	r=$(rounds)
	[ "$r" != "$r0" ] && [ "$r" -ge 2 ] && break
	sleep 0.05
done
ok "$([ "$r" -ge 2 ] && [ "$r" -le 8 ]; echo $?)" "a round was seen before the window (round $r)"

start=$SECONDS
pprof -proto -seconds 2 "$url" >"$T/delta.pb.gz" 2>"$T/delta.err" &
pp=$!
track_pid $pp
# Meanwhile the loop keeps serving.
sleep 0.5
is "$(http_code "$BASE_URL/")" 200 "the index answers during the delta window"
is "$(http_code "$url?debug=1")" 200 "a heap request answers during the delta window"
wait_exit $pp 30
is "$EXIT_STATUS" 0 "go tool pprof -seconds 2 fetched a profile" || diag "$(cat "$T/delta.err")"
el=$((SECONDS - start))
ok "$([ $el -ge 2 ] && [ $el -le 6 ]; echo $?)" "it took the window's 2 s ($el s)"
r1=$(rounds)

pprof -top "$T/delta.pb.gz" >"$T/top" 2>&1
like "$(grep '^Duration:' "$T/top")" '^Duration: 2s' "delta profile duration is 2 s"
is "$(pprof_flat "$T/delta.pb.gz" alloc_objects leak_malloc)" 20 "delta: leak_malloc allocated 2 rounds x 10 objects"
is "$(pprof_flat "$T/delta.pb.gz" inuse_space leak_malloc)" 20000 "delta: leak_malloc in-use grew by 20000 bytes"
is "$(pprof_flat "$T/delta.pb.gz" inuse_space grow_realloc)" 6000 "delta: grow_realloc in-use grew by 2 x 3000"
is "$(pprof_flat "$T/delta.pb.gz" alloc_space churn)" 190040 "delta: churn allocated 2 x 95020 bytes"
is "$(pprof_flat "$T/delta.pb.gz" inuse_space churn)" 0 "delta: churn in-use unchanged"
ok "$([ $((r1 - r)) -ge 2 ]; echo $?)" "the cumulative profile moved on by at least the window's rounds ($r -> $r1)"

# The cumulative profile still holds everything.
curl -s -m 10 -o "$T/cum.pb.gz" "$url"
is "$(pprof_flat "$T/cum.pb.gz" alloc_objects churn)" $(($(pprof_flat "$T/cum.pb.gz" alloc_objects leak_malloc) * 100)) \
	"cumulative: churn = 100 x leak_malloc objects (whole rounds)"

# A client that leaves before its window ends costs nothing.
curl -s -m 1 -o /dev/null "$url?seconds=5"
is "$?" 28 "a client giving up during the window (curl time-out)"
is "$(http_code "$url?debug=1")" 200 "heaptrace still answers"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
