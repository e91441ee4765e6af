#!/bin/bash
# An --alloc-only run served over --http: the profile an HTTP client fetches
# says, like the files, that in-use is not tracked (both are built by the
# same code), and its numbers are the exact allocations at -r 1 with in-use
# zero.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-nofp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" --alloc-only -r 1 -i 1h -o "$T" -p "$fix" ||
	bail_out "heaptrace did not start"
kill -USR1 "$fix"

# The fixture allocates in a few milliseconds; wait until its last call is seen.
url=$BASE_URL/heap
for _ in $(seq 100); do
	curl -s -m 5 "$url?debug=1" >"$T/text" 2>/dev/null
	[ "$(legacy_record "$T/text" edge_cases)" = "0: 0 [1: 500]" ] && break
	sleep 0.1
done

for path in heap allocs; do
	curl -s -m 10 -o "$T/$path.pb.gz" "$BASE_URL/$path?pid=$fix"
	is "$?" 0 "curl fetches /debug/pprof/$path"
	like "$(pprof -raw "$T/$path.pb.gz" 2>/dev/null | grep '^Comment: alloc-only')" \
		'free is not traced \(--alloc-only\), so the inuse sample types are zero' \
		"/debug/pprof/$path of an --alloc-only run says in-use is not tracked"
	like "$(pprof -raw "$T/$path.pb.gz" 2>/dev/null | grep -c '^Comment: heaptrace ')" '^1$' \
		"/debug/pprof/$path: the heaptrace comment, once"
done
is "$(pprof_flat "$T/heap.pb.gz" alloc_objects leak_malloc)" 10 "over HTTP: leak_malloc 10 allocations"
is "$(pprof_total "$T/heap.pb.gz" inuse_space)" 0 "over HTTP: in-use total 0"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "SIGINT: heaptrace exits 0"
prof=$(last_profile "$T")
like "$(pprof -raw "$prof" 2>/dev/null | grep '^Comment: alloc-only')" \
	'free is not traced \(--alloc-only\)' "the final file says the same"

done_testing
