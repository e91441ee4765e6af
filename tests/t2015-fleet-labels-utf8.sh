#!/bin/bash
# A process name cut in the middle of a character (the kernel keeps 15
# bytes of it) must not make Prometheus refuse heaptrace's pages: label
# values are made UTF-8, the cut character becoming U+FFFD, both in
# /metrics and in the discovery list, and Debian's real Prometheus scrapes
# and discovers the process with that name.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
. "$(dirname "$0")/lib-prom.sh"

require_root_btf
require_fixture alloc_known-nofp
require_prometheus
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

# Eight two-byte characters: 16 bytes, of which the comm keeps 15.
name=$'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9'
# PromQL refuses a literal U+FFFD in a query (it cannot tell it from a bad
# byte) but takes the escape.
want=$'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9''\ufffd'
cp "$FIXTURES/alloc_known-nofp" "$T/$name" || bail_out "cannot copy the fixture"
"$T/$name" --wait --hold 120 >"$T/fix.out" 2>"$T/fix.err" &
fix=$!
track_pid "$fix"
wait_for_line "$T/fix.out" '^ready$' 20 1 "$fix" || bail_out "the fixture did not start"
is "$(od -An -tx1 "/proc/$fix/comm" | tr -d ' \n')" "c3a9c3a9c3a9c3a9c3a9c3a9c3a9c30a" \
	"the kernel cut the name inside its eighth character"

start_http_trace "$T/err" -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
port=$HTTP_PORT
kill -USR1 "$fix"
for _ in $(seq 100); do
	curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null
	grep -q '^heaptrace_inuse_bytes{.*} 51480$' "$T/metrics" && break
	sleep 0.1
done
python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' "$T/metrics"
is $? 0 "/metrics is valid UTF-8"
curl -s -m 5 "http://127.0.0.1:$port/debug/pprof/targets" >"$T/targets.json"
python3 -c 'import json, sys; json.loads(open(sys.argv[1], "rb").read().decode("utf-8"))' \
	"$T/targets.json"
is $? 0 "/debug/pprof/targets is valid UTF-8 JSON"
promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1
is $? 0 "promtool check metrics accepts the page" || diag "$(head -n 5 "$T/promtool")"

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: static
    static_configs:
      - targets: ['127.0.0.1:$port']
  - job_name: sd
    http_sd_configs:
      - url: http://127.0.0.1:$port/debug/pprof/targets
        refresh_interval: 1s
EOF
start_prometheus "$T/prometheus.yml" || bail_out "prometheus did not start"

is "$(prom_wait_value "up{job=\"static\"}" 1 60)" 1 "Prometheus scrapes /metrics (up is 1)"
is "$(prom_wait_value "heaptrace_inuse_bytes{job=\"static\",comm=\"$want\"}" 51480 60)" 51480 \
	"PromQL: the series' comm is the name with U+FFFD for the cut character"
is "$(prom_wait_value "heaptrace_inuse_bytes{job=\"sd\",comm=\"$want\"}" 51480 60)" 51480 \
	"PromQL: the discovered target has the same comm, and is scraped"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
