#!/bin/bash
# soak.sh BUILD [SECONDS] [THREADS] - `make soak`: heaptrace -p on a
# multi-threaded churn (10000 distinct stacks, dlopen/dlclose every 2 ms,
# tests/fixtures/soak_churn.c) at the default sample rate for SECONDS
# (default 660: a minute of warm-up, then ten), THREADS (default 2) churning. Prints heaptrace's RSS,
# open descriptors and CPU time after the warm-up and at the end, once a
# minute in between, and fails when the descriptors grew, when RSS grew by
# more than 10 % (and 4 MiB) after the warm-up, or passed 64 MiB.
set -u
BUILD=${1:?usage: soak.sh BUILD [SECONDS] [THREADS]}
SECONDS_TOTAL=${2:-660}
THREADS=${3:-2}
WARMUP=60
HT=$BUILD/heaptrace
FIX=$BUILD/fixtures/soak_churn-nofp
RSS_LIMIT_KB=$((64 * 1024))

[ "$(id -u)" -eq 0 ] || { echo "soak: needs root (BPF)" >&2; exit 1; }
[ -x "$HT" ] && [ -x "$FIX" ] || { echo "soak: build first: make BUILD=$BUILD all fixtures" >&2; exit 1; }
[ "$SECONDS_TOTAL" -gt "$WARMUP" ] || { echo "soak: SECONDS must exceed the $WARMUP s warm-up" >&2; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/tmp}/heaptrace-soak.XXXXXX")
fix_pid= ht_pid=
cleanup() {
	[ -n "$ht_pid" ] && kill -TERM "$ht_pid" 2>/dev/null
	[ -n "$fix_pid" ] && kill -KILL "$fix_pid" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT

# figures PID: "RSS_KB FDS CPU_TICKS"
figures() {
	local rss fds cpu
	rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$1/status")
	fds=$(ls "/proc/$1/fd" | wc -l)
	cpu=$(awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat")
	echo "$rss $fds $cpu"
}
show() { # LABEL RSS FDS CPU ELAPSED
	printf 'soak: %-8s %6.1f MiB RSS, %3d fds, %7.2f s CPU (%4.1f %% of a core since start)\n' \
		"$1" "$(echo "$2 / 1024" | bc -l)" "$3" "$(echo "$4 / $TICK" | bc -l)" \
		"$(echo "100 * $4 / $TICK / ($5 + 0.001)" | bc -l)"
}
TICK=$(getconf CLK_TCK)

"$FIX" "$SECONDS_TOTAL" "$THREADS" >"$dir/fixture.out" 2>&1 &
fix_pid=$!
for _ in $(seq 100); do grep -q '^ready$' "$dir/fixture.out" && break; sleep 0.1; done
mkdir "$dir/out"
# The valve off: the churn is far over its budget, and the soak is about
# heaptrace's resources while it traces.
"$HT" -p "$fix_pid" -i 30s --max-overhead off -o "$dir/out" 2>"$dir/heaptrace.err" &
ht_pid=$!
start=$SECONDS
sleep "$WARMUP"
read -r rss0 fds0 cpu0 <<<"$(figures "$ht_pid")" || { echo "soak: heaptrace is gone" >&2; cat "$dir/heaptrace.err" >&2; exit 1; }
show warm-up "$rss0" "$fds0" "$cpu0" $((SECONDS - start))
peak=$rss0
# The end figures are taken 5 s before the churn ends, while heaptrace still traces it.
while left=$((SECONDS_TOTAL - 5 - (SECONDS - start))) && [ "$left" -gt 0 ]; do
	sleep $((left < 60 ? left : 60))
	kill -0 "$ht_pid" 2>/dev/null || break
	read -r rss fds cpu <<<"$(figures "$ht_pid")"
	[ "$rss" -gt "$peak" ] && peak=$rss
	show "+$((SECONDS - start))s" "$rss" "$fds" "$cpu" $((SECONDS - start))
done
read -r rss1 fds1 cpu1 <<<"$(figures "$ht_pid")" || { echo "soak: heaptrace is gone" >&2; cat "$dir/heaptrace.err" >&2; exit 1; }
[ "$rss1" -gt "$peak" ] && peak=$rss1
show end "$rss1" "$fds1" "$cpu1" $((SECONDS - start))
wait "$fix_pid"
wait "$ht_pid"
status=$?
prof=$(ls -t "$dir"/out/*.heap.pb.gz 2>/dev/null | head -1)
stacks=0
[ -n "$prof" ] && stacks=$(go tool pprof -raw "$prof" 2>/dev/null | awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && /^ *[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:/ { n++ } END { print n + 0 }')
echo "soak: $(tail -n 1 "$dir/fixture.out"), $(ls "$dir"/out | wc -l) profiles, $stacks stacks in the last"
grep -E 'lost|error|warning' "$dir/heaptrace.err" | tail -n 3 | sed 's/^/soak: heaptrace said: /'

fail=0
[ "$status" -eq 0 ] || { echo "soak: FAIL: heaptrace exited $status"; fail=1; }
[ "$fds1" -le "$fds0" ] || { echo "soak: FAIL: descriptors grew from $fds0 to $fds1"; fail=1; }
if [ "$rss1" -gt $((rss0 + rss0 / 10)) ] && [ "$rss1" -gt $((rss0 + 4096)) ]; then
	echo "soak: FAIL: RSS grew from $((rss0 / 1024)) MiB to $((rss1 / 1024)) MiB after the warm-up"
	fail=1
fi
[ "$peak" -le "$RSS_LIMIT_KB" ] || { echo "soak: FAIL: RSS peaked at $((peak / 1024)) MiB, over 64 MiB"; fail=1; }
[ "$fail" -eq 0 ] && echo "soak: PASS ($((SECONDS - start)) s, peak RSS $((peak / 1024)) MiB)"
exit "$fail"
