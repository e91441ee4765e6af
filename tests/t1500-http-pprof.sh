#!/bin/bash
# --http serves the live data of a traced process the way net/http/pprof
# serves a Go program's: `go tool pprof` reads /debug/pprof/heap and
# /debug/pprof/allocs straight from heaptrace, ?debug=1 is the legacy text
# whose header holds the sums of its records, the index lists the pid, and
# bad parameters get the right status codes.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-nofp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

start_fixture alloc_known-nofp --wait --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"

# The fixture allocates in a few milliseconds; wait until all of it is seen.
url=$BASE_URL/heap
for _ in $(seq 100); do
	curl -s -m 5 "$url?debug=1" >"$T/text" 2>/dev/null
	[ "$(legacy_record "$T/text" edge_cases)" = "0: 0 [1: 500]" ] && break
	sleep 0.1
done

# go tool pprof on the URL itself, as a Go programmer would.
pprof -top -sample_index=inuse_space "$url" >"$T/top" 2>"$T/top.err"
is $? 0 "go tool pprof -top $url" || diag "$(cat "$T/top.err")"
like "$(grep '^Type:' "$T/top")" '^Type: inuse_space$' "heap: default sample type inuse_space"
like "$(grep -c ' leak_malloc$' "$T/top")" '^1$' "-top over HTTP lists leak_malloc"
is "$(pprof_flat "$url" inuse_space leak_valloc)" 5000 "-top over HTTP: leak_valloc holds 5000 bytes"

# Exact numbers of every fixture function at -r 1, from one fetch.
curl -s -m 10 -o "$T/heap.pb.gz" "$url"
is "$?" 0 "curl fetches the protobuf"
assert_table "$T/heap.pb.gz" "$ALLOC_KNOWN_TABLE" "live: "
check_stacks "$T/heap.pb.gz" leak_malloc churn

pprof -top "$BASE_URL/allocs?pid=$fix" >"$T/allocs" 2>"$T/allocs.err"
is $? 0 "go tool pprof -top /debug/pprof/allocs?pid=" || diag "$(cat "$T/allocs.err")"
like "$(grep '^Type:' "$T/allocs")" '^Type: alloc_space$' "allocs: default sample type alloc_space"

# The legacy text.
curl -s -m 10 -D "$T/hdr" -o "$T/text" "$url?debug=1"
like "$(head -n 1 "$T/hdr")" '^HTTP/1.1 200' "?debug=1: 200"
like "$(grep -i '^content-type:' "$T/hdr")" 'text/plain' "?debug=1 is text/plain"
like "$(head -n 1 "$T/text")" '^heap profile: 27: 51480 \[[0-9]+: [0-9]+\] @ heap/2$' \
	"header: 27 objects, 51480 bytes in use, rate 1 -> heap/2"
check=$(legacy_check "$T/text")
is "$(echo "$check" | head -n 1)" ok "?debug=1 parses as the legacy format; header = sums of the records" ||
	diag "$(head -n 40 "$T/text")"
is "$(legacy_record "$T/text" leak_malloc)" "10: 10000 [10: 10001]" \
	"leak_malloc record: raw counts, alloc bytes +1 where equal to in-use (Go's rule)"
is "$(legacy_record "$T/text" churn)" "0: 0 [1000: 95020]" "churn record"
like "$(grep -m1 -P '^#\t0x[0-9a-f]+\tleak_malloc\t' "$T/text")" \
	'^#.0x[0-9a-f]+.leak_malloc./.*tests/fixtures/known_allocs\.h:[0-9]+$' "frame line: address, function, file:line"
like "$(grep '^# heaptrace.MemStats' "$T/text")" "pid $fix" "statistics section names the process"
like "$(grep '^# VmRSS = ' "$T/text")" '^# VmRSS = [1-9][0-9]*$' "statistics: VmRSS in bytes"
like "$(grep '^# SmapsRss = ' "$T/text")" '^# SmapsRss = [1-9][0-9]*$' "statistics: Rss from smaps_rollup"
is "$(sed -n 's/^# LiveTrackedBlocks = //p' "$T/text")" 27 "statistics: 27 live tracked blocks"
like "$(sed -n 's/^# Samples = //p' "$T/text")" '^[0-9]+$' "statistics: samples"
is "$(sed -n 's/^# Lost = //p' "$T/text")" 0 "statistics: nothing lost"

# The index.
curl -s -m 10 "$BASE_URL/" >"$T/index"
like "$(grep -c "pid $fix (alloc_known-nof)" "$T/index")" '^1$' "/debug/pprof/ lists pid $fix"
like "$(grep -o "href=\"heap?pid=$fix\"" "$T/index")" . "index links to heap?pid=$fix"

# Status codes.
is "$(http_code "$url?pid=999999999")" 404 "unknown pid: 404"
is "$(http_code "$url?pid=abc")" 400 "pid=abc: 400"
is "$(http_code "$url?pid=$fix")" 200 "pid=$fix: 200"
is "$(http_code "$url?seconds=0")" 400 "seconds=0: 400"
is "$(http_code "$url?seconds=301")" 400 "seconds=301: 400 (at most 300)"
is "$(http_code "$url?seconds=x")" 400 "seconds=x: 400"
is "$(http_code "$url?seconds=1&debug=1")" 400 "seconds with debug: 400, as net/http/pprof"
is "$(http_code "$url?debug=-1")" 400 "debug=-1: 400"
is "$(http_code "$BASE_URL/goroutine")" 404 "unknown profile: 404"
is "$(http_code "$url" -X POST)" 405 "POST: 405"
is "$(http_code "$url" -I)" 200 "HEAD: 200"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
