#!/bin/bash
# RSS beside the heap: heap_phases writes 16 MB of 4096-byte blocks it keeps.
# The status line, the profile's comment and the legacy text (?debug=1)
# give the process's RssAnon (from /proc/PID/status) beside the sampled
# in-use estimate; RssAnon holds at least the blocks the program wrote.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture heap_phases-nofp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

start_fixture heap_phases-nofp --wait --gap 0 --hold 60 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -i 1s -o "$T" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_for_line "$FIX_OUT" '^new done$' 20 1 "$fix" || bail_out "fixture did not allocate"
sleep 1.5 # one more interval: a status line after the allocations
wait_for_line "$T/err" ': inuse .* RssAnon ' 20 1 "$HT_PID"
line=$(grep ': inuse .* RssAnon ' "$T/err" | tail -n 1)
like "$line" "$STATUS_RE_HEAD\(heap_phases-nof\)$STATUS_RE_TAIL" "the status line keeps its layout"
like "$line" ': inuse [0-9.]+ MiB \([+-][^;]*; ±[0-9]+% from [0-9]+ live samples; RssAnon [0-9.]+ MiB\) in ' \
	"the status line gives the in-use uncertainty and RssAnon beside it: $line"

truth_kb=$(awk '$1 == "RssAnon:" { print $2 }' "/proc/$fix/status")
shown=$(sed -n 's/.*RssAnon \([0-9.]*\) MiB).*/\1/p' <<<"$line")
ok "$(awk -v s="$shown" -v t="$truth_kb" 'BEGIN { exit !(s * 1024 >= t * 0.9 && s * 1024 <= t * 1.1) }'; echo $?)" \
	"status line's RssAnon $shown MiB is /proc/$fix/status's ($truth_kb kB) within 10%"
ok "$(awk -v s="$shown" 'BEGIN { exit !(s >= 15.6) }'; echo $?)" \
	"RssAnon ($shown MiB) holds the 16384000 bytes the fixture wrote"

curl -s -m 10 "$BASE_URL/heap?debug=1" >"$T/text"
like "$(grep -m1 '^# inuse estimate' "$T/text")" \
	'^# inuse estimate [0-9.]+ [KMG]iB ±[0-9.]+ [KMG]?i?B \(±[0-9]+%, [0-9]+ samples\); RssAnon [0-9.]+ MiB \(resident anonymous memory' \
	"?debug=1 says the estimate, its uncertainty and RssAnon beside it"
like "$(grep -m1 '^# RssAnon = ' "$T/text")" '^# RssAnon = [0-9]+$' "?debug=1's statistics keep RssAnon in bytes"

kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
prof=$(last_profile "$T")
like "$(pprof -comments "$prof" 2>/dev/null | grep -m1 '^inuse estimate')" \
	'^inuse estimate .*; RssAnon [0-9.]+ MiB \(resident anonymous memory: also allocator retention and fragmentation, and memory not from malloc\)$' \
	"the profile's comment gives RssAnon beside the estimate"
kill "$fix"
done_testing
