#!/bin/bash
# Many parallel, malformed, silent and oversized requests: heaptrace keeps
# tracing (profiles keep being written every interval), keeps answering
# valid requests, bounds its connections (16: an idle client makes room for
# a new one, a burst beyond 16 is answered 503), and drops a
# client that sends nothing after its 5 s time-out.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-nofp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

out=$T/out
mkdir -p "$out"
start_fixture alloc_known-nofp --wait --repeat 40 --hold 1 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -r 1 -i 1s -o "$out" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
url=$BASE_URL/heap
sleep 1.5
files0=$(profiles_of "$out" | wc -l)

# 50 parallel requests, half protobuf, half text.
curls=()
for i in $(seq 50); do
	q=; [ $((i % 2)) = 0 ] && q='?debug=1'
	curl -s -m 20 -o "$T/par.$i" -w '%{http_code}\n' "$url$q" >"$T/code.$i" 2>/dev/null &
	curls+=($!)
done
wait "${curls[@]}"
codes=$(cat "$T"/code.* | sort | uniq -c | awk '{ printf "%s:%s ", $2, $1 }')
is "$(cat "$T"/code.* | grep -cvE '^(200|503)$')" 0 "50 parallel requests: each answered 200 or 503 ($codes)"
ok "$([ "$(cat "$T"/code.* | grep -c '^200$')" -ge 16 ]; echo $?)" "at least 16 of them served"
bad=0
for i in $(seq 2 2 50); do
	grep -q '^200$' "$T/code.$i" || continue
	[ "$(legacy_check "$T/par.$i" | head -n 1)" = ok ] || bad=1
done
is $bad 0 "every parallel text answer parses, header = sums"

# Garbage, a TLS hello, a truncated request, a header of 100 KB.
head -c 20000 /dev/urandom >"$T/garbage"
(exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT && cat "$T/garbage" >&3; timeout 5 cat <&3 >"$T/g.resp") 2>/dev/null
like "$(head -c 12 "$T/g.resp")" '^(HTTP/1.1 4[0-9][0-9])?$' "random bytes: a 4xx answer or a closed connection"
(exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT && printf 'GET /debug/pprof/ HTTP/1.1\r\nHost: x\r\n' >&3 && exec 3>&-) 2>/dev/null
(exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT && { printf 'GET /debug/pprof/heap HTTP/1.1\r\nX-Big: '; head -c 100000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } >&3; timeout 5 cat <&3 >"$T/big.resp") 2>/dev/null
like "$(head -n 1 "$T/big.resp")" '^HTTP/1.1 431 ' "a 100 KB header: 431"
printf 'BREW /pot HTTP/1.1\r\n\r\n' | timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$HTTP_PORT; cat >&3; cat <&3" >"$T/brew.resp" 2>/dev/null
like "$(head -n 1 "$T/brew.resp")" '^HTTP/1.1 405 ' "an unknown method: 405"
is "$(http_code "$url?debug=1")" 200 "valid requests still answered after the garbage"

# 20 clients that connect and never send: the 16 slots fill, and once they
# have been idle for half a second each new client takes the slot of the
# oldest idle one, so a real request is still answered at once; the time-out
# closes the rest.
for i in $(seq 3 22); do
	eval "exec $i<>/dev/tcp/127.0.0.1/$HTTP_PORT"
done
sleep 1
t0=$(date +%s%N)
like "$(http_code "$url?debug=1")" '^200$' "with 20 silent clients connected: a normal request is answered 200"
ms=$((($(date +%s%N) - t0) / 1000000))
ok "$([ $ms -lt 2000 ]; echo $?)" "and quickly (${ms} ms, under 2 s)"
sleep 6
is "$(http_code "$url?debug=1")" 200 "after the 5 s time-out the silent clients are gone: 200"
closed=0
for i in $(seq 3 18); do
	timeout 2 cat <&$i >/dev/null 2>&1 && closed=$((closed + 1))
done
for i in $(seq 3 22); do
	eval "exec $i>&-"
done
is $closed 16 "the server closed each silent connection it had accepted"

# Still tracing: profiles kept coming every second, the latest has more rounds.
files1=$(profiles_of "$out" | wc -l)
ok "$([ $((files1 - files0)) -ge 5 ]; echo $?)" "profiles kept being written during the abuse ($files0 -> $files1)"
is "$(grep -c 'heaptrace: error' "$T/err")" 0 "no error from heaptrace"
ok "$(is_running "$HT_PID"; echo $?)" "heaptrace is still running"
last=$(last_profile "$out")
curl -s -m 10 -o "$T/now.pb.gz" "$url"
n_file=$(pprof_flat "$last" alloc_objects leak_malloc)
n_live=$(pprof_flat "$T/now.pb.gz" alloc_objects leak_malloc)
ok "$([ "$n_live" -ge "$n_file" ] && [ "$n_file" -ge 40 ]; echo $?)" \
	"live data is at least as new as the last file ($n_file -> $n_live objects)"
is "$((n_live % 10))" 0 "live data holds whole rounds"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
