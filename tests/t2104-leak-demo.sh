#!/bin/bash
# The bundled demo server (demo-leak: a response cache that forgets one
# entry in four, beside per-request buffers freed again) at the default
# sample rate (512 KiB): over 21 one-second profiles cache_insert_leaky is
# the only suspect, live on the status line and offline in heaptrace report,
# although its stack also frees (the cache's evictions), and the request
# buffers are churn.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture demo-leak-nofp
command -v jq >/dev/null || bail_out "jq is not installed (scripts/install-deps.sh)"

start_fixture demo-leak-nofp --seconds 40 || bail_out "fixture did not start"
fix=$FIX_PID
start_heaptrace "$T/err" -i 1s -d 20s -o "$T" -p "$fix" || bail_out "heaptrace did not start"
wait_exit "$HT_PID" 40
is "$EXIT_STATUS" 0 "heaptrace -d 20s exits 0"
kill "$fix"

line=$(grep -E "pid $fix .*inuse" "$T/err" | tail -n 1)
like "$line" ", leak suspect: cache_insert_leaky \+[0-9.]+ (KiB|MiB)/s$" "the status line names cache_insert_leaky" ||
	diag "$(cat "$T/err")"
"$HEAPTRACE" report --json "$T" >"$T/r.json"
is $? 0 "heaptrace report --json exits 0"
is "$(jq -r '[.suspects[].function] | join(",")' "$T/r.json")" cache_insert_leaky \
	"offline: cache_insert_leaky is the only suspect" ||
	diag "$(jq -c '.processes[0].findings[] | [.class, .function, .inuse_bytes, .r2, .steady]' "$T/r.json")"
# About 800 KiB/s leaked (one 16 KiB entry in four of 200 requests a second);
# at the default rate that rests on one sample per 32 entries leaked, some
# 20-40 samples over the window: within a factor of two.
rate=$(jq -r '.suspects[0].growth_bytes_per_s | floor' "$T/r.json")
ok "$([ "$rate" -ge 409600 ] && [ "$rate" -le 1638400 ]; echo $?)" \
	"offline: it grows about 800 KiB/s ($rate B/s) at the default rate, within a factor of two"
for fn in parse_request render_response; do
	is "$(jq -r ".processes[0].findings[] | select(.function == \"$fn\") | .class" "$T/r.json")" churn \
		"offline: $fn is churn"
done

done_testing
