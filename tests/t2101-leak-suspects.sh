#!/bin/bash
# Leak suspects, live and offline, on one process doing four things at once
# (heap_patterns): a steady leak (leak_steady), a full 32 MiB cache whose
# entries are replaced (cache_put), a 64 MiB spike held 1 s every 4 s
# (spike_alloc) and churn (churn_burst). The leak is the only suspect: on the
# status line, in /debug/heaptrace/report (text and ?format=json), in the
# comments of the profiles, and in `heaptrace report` (text and --json) of
# the files written; the cache is told apart as flat and the churn as churn.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture heap_patterns-nofp
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"
command -v jq >/dev/null || bail_out "jq is not installed (scripts/install-deps.sh)"

start_fixture heap_patterns-nofp --wait --seconds 40 --spike-every 4 || bail_out "fixture did not start"
fix=$FIX_PID
start_http_trace "$T/err" -r 16384 -i 1s -o "$T" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
report=http://127.0.0.1:$HTTP_PORT/debug/heaptrace/report

# Twelve profiles: enough for the growth to be steady, and three spikes.
wait_for_line "$T/err" "pid $fix .*inuse" 30 13 "$HT_PID"
ok $? "thirteen profiles written" || diag "$(cat "$T/err")"

curl -s -m 10 -D "$T/hdr" -o "$T/live.json" "$report?format=json"
like "$(head -n 1 "$T/hdr")" '^HTTP/1.1 200' "report?format=json: 200"
like "$(grep -i '^content-type:' "$T/hdr")" 'application/json' "report?format=json is application/json"
is "$(jq -r '[.suspects[].function] | join(",")' "$T/live.json")" leak_steady \
	"live: leak_steady is the only suspect" || diag "$(jq -c '.processes[0].findings[] | [.class, .function, .inuse_bytes, .r2, .steady]' "$T/live.json")"
is "$(jq -r '.suspects[0].pid' "$T/live.json")" "$fix" "live: the suspect is of pid $fix"
like "$(jq -r '.suspects[0].stack' "$T/live.json")" '^leak_steady;main;' "live: its stack, leaf first"
# 256 KiB/s asked, 240 KiB/s allocated (three 4 KiB blocks per 50 ms tick); sampled at -r 16384.
rate=$(jq -r '.suspects[0].growth_bytes_per_s | floor' "$T/live.json")
within "$rate" 245760 35 "live: growth_bytes_per_s about 240 KiB/s ($rate)"
inuse=$(jq -r '.suspects[0].inuse_bytes' "$T/live.json")
like "$inuse" '^[1-9][0-9]{6,}$' "live: inuse_bytes of the suspect, megabytes ($inuse)"
age=$(jq -r '.suspects[0].mean_age_s | floor' "$T/live.json")
ok "$([ "$age" -ge 3 ] && [ "$age" -le 9 ]; echo $?)" "live: its live bytes are about half the window old ($age s)"
# The age labels of the profile: some of the leak is 10 s old or more, some younger.
old=$(jq -r '[.suspects[0].inuse_by_age[] | select(.age_s >= 10) | .bytes] | add // 0' "$T/live.json")
young=$(jq -r '[.suspects[0].inuse_by_age[] | select(.age_s < 10) | .bytes] | add // 0' "$T/live.json")
ok "$([ "$old" -gt 0 ] && [ "$young" -gt 0 ]; echo $?)" \
	"live: the suspect's in-use by measured age: $old bytes 10 s old or more, $young younger"
is "$(jq -r '.processes[0].findings[] | select(.function == "cache_put") | .class' "$T/live.json")" flat \
	"live: the full cache is flat, not a suspect"
is "$(jq -r '.processes[0].findings[] | select(.function == "churn_burst") | .class' "$T/live.json")" churn \
	"live: the churn is churn"
cache=$(jq -r '.processes[0].findings[] | select(.function == "cache_put") | .inuse_bytes' "$T/live.json")
within "$cache" 33554432 15 "live: the cache holds about 32 MiB ($cache)"

curl -s -m 10 -o "$T/live.txt" "$report?pid=$fix"
like "$(sed -n 2p "$T/live.txt")" '^  1 leak suspect:$' "live text report: one suspect" || diag "$(cat "$T/live.txt")"
like "$(sed -n 3p "$T/live.txt")" '^  growing  leak_steady: in use ' "live text report names leak_steady"

# The status line names it; the profiles carry it as a comment.
line=$(grep -E "pid $fix .*inuse" "$T/err" | tail -n 1)
like "$line" ", leak suspect: leak_steady \+[0-9.]+ KiB/s$" "the status line names the top suspect"
like "$line" "$STATUS_RE_HEAD" "and is still a status line"
last=$(last_profile "$T" "$fix")
pprof -comments "$last" >"$T/comments" 2>&1
like "$(grep -c '^heaptrace leak suspect: leak_steady in use [0-9]* bytes, growing' "$T/comments")" '^1$' \
	"the last profile's comment marks leak_steady" || diag "$(cat "$T/comments")"
is "$(grep -c 'leak suspect: \(cache_put\|churn_burst\|spike_alloc\)' "$T/comments")" 0 "and nothing else"

curl -s -m 10 "http://127.0.0.1:$HTTP_PORT/debug/pprof/" >"$T/index"
like "$(grep -o "href=\"../heaptrace/report?pid=$fix\"" "$T/index")" . "the /debug/pprof/ index links to the report"

scoped=http://127.0.0.1:$HTTP_PORT/pid/$fix/debug/heaptrace/report
is "$(curl -s -m 10 "$scoped?format=json" | jq -r '[.suspects[].function] | join(",")')" leak_steady \
	"/pid/$fix/debug/heaptrace/report: the same report"
is "$(http_code "$scoped?pid=1")" 400 "a pid query that disagrees with the path: 400"

# Read as the process's profiles are (--http-allow owner, the default): another user may not.
if command -v runuser >/dev/null && id nobody >/dev/null 2>&1; then
	is "$(runuser -u nobody -- curl -s -o /dev/null -m 10 -w '%{http_code}' "$report?pid=$fix")" 403 \
		"the report of a root process, asked by nobody: 403"
else
	bail_out "runuser or the user nobody is missing"
fi

# Status codes.
is "$(http_code "$report?format=xml")" 400 "format=xml: 400"
is "$(http_code "$report?pid=999999999")" 404 "an untraced pid: 404"
is "$(http_code "$report?pid=x")" 400 "pid=x: 400"

# Offline, from the files.
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
"$HEAPTRACE" report --json "$T" >"$T/offline.json" 2>"$T/offline.err"
is $? 0 "heaptrace report --json DIR exits 0" || diag "$(cat "$T/offline.err")"
is "$(jq -r '[.suspects[].function] | join(",")' "$T/offline.json")" leak_steady \
	"offline: leak_steady is the only suspect" || diag "$(jq -c '.processes[0].findings[] | [.class, .function, .inuse_bytes, .r2, .steady]' "$T/offline.json")"
is "$(jq -r '.processes | length' "$T/offline.json")" 1 "offline: one process"
n=$(profiles_of "$T" "$fix" | wc -l)
is "$(jq -r '.processes[0].profiles' "$T/offline.json")" "$n" "offline: every profile of the directory ($n)"
for key in function stack inuse_bytes growth_bytes_per_s; do
	is "$(jq -r ".suspects[0] | has(\"$key\")" "$T/offline.json")" true "offline: the suspect has $key"
done
is "$(jq -r '.processes[0].findings[] | select(.function == "cache_put") | .class' "$T/offline.json")" flat \
	"offline: the cache is flat"
"$HEAPTRACE" report $(profiles_of "$T" "$fix") >"$T/offline.txt" 2>&1
is $? 0 "heaptrace report FILES... exits 0"
like "$(head -n 1 "$T/offline.txt")" "^pid $fix \(heap_patterns-n\): $n profiles over [0-9]+ s$" "text report: header"
like "$(sed -n 3p "$T/offline.txt")" '^  growing  leak_steady: ' "text report: leak_steady first"

done_testing
