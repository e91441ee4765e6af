#!/bin/bash
# /metrics: Debian's real Prometheus server scrapes heaptrace on loopback,
# and PromQL through its HTTP API returns the fixture's exact in-use and
# allocated totals at -r 1, its counters, its RSS, heaptrace's own CPU and
# RSS, and the safety valve's state (a second heaptrace whose valve trips).
# promtool checks the page against the text format and naming rules, and
# there is one series per process, metric and reason: none per stack.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
. "$(dirname "$0")/lib-prom.sh"

require_root_btf
require_fixture alloc_known-nofp call_burst-nofp
require_prometheus
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

# The fixture runs in a cgroup named like a systemd service's, so that its
# series get a unit label as a service's would.
make_test_cgroup
unit_cg=$cg/heaptrace-fixture.service
mkdir "$unit_cg" || bail_out "cannot create $unit_cg"
trap 'for p in $(cat "$unit_cg/cgroup.procs" 2>/dev/null); do echo "$p" >"$root/cgroup.procs"; done; rmdir "$unit_cg"; _cleanup_cgroup; _cleanup' EXIT

start_fixture alloc_known-nofp --wait --hold 120 || bail_out "fixture did not start"
fix=$FIX_PID
echo "$fix" >"$unit_cg/cgroup.procs" || bail_out "cannot move pid $fix into $unit_cg"
start_http_trace "$T/err" -r 1 -i 1h -o "$T" -p "$fix" || bail_out "heaptrace did not start"
port=$HTTP_PORT
ht=$HT_PID
kill -USR1 "$fix"

# The fixture allocates in a few milliseconds; wait until all of it is seen.
for _ in $(seq 100); do
	curl -s -m 5 "http://127.0.0.1:$port/metrics" >"$T/metrics" 2>/dev/null
	grep -q "^heaptrace_alloc_objects_total{pid=\"$fix\",.*} 1029$" "$T/metrics" && break
	sleep 0.1
done
curl -s -m 10 -D "$T/hdr" -o "$T/metrics" "http://127.0.0.1:$port/metrics"
like "$(grep -i '^content-type:' "$T/hdr")" 'text/plain; version=0\.0\.4' \
	"/metrics is the text exposition format 0.0.4"
promtool check metrics <"$T/metrics" >"$T/promtool" 2>&1
is $? 0 "promtool check metrics: the page follows the format and naming rules" ||
	diag "$(head -n 20 "$T/promtool")"
like "$(grep -c '^# HELP heaptrace_' "$T/metrics")" '^1[0-9]$' "every family has # HELP"
is "$(grep -c '^# TYPE heaptrace_inuse_bytes gauge$' "$T/metrics")" 1 "heaptrace_inuse_bytes is a gauge"
is "$(grep -c '^# TYPE heaptrace_alloc_bytes_total counter$' "$T/metrics")" 1 \
	"heaptrace_alloc_bytes_total is a counter"

# The valve: a second heaptrace with a budget call_burst exceeds at once,
# and a cool-down long enough that the probes are still off when scraped.
# It runs --alloc-only: its in-use series must be absent, not zero.
start_fixture call_burst-nofp --wait || bail_out "call_burst did not start"
burst=$FIX_PID
start_http_trace "$T/err-valve" -r 1 -i 1h -o "$T" --max-call-rate 1000 --cool-down 120s --alloc-only \
	-p "$burst" || bail_out "the valve's heaptrace did not start"
valve_port=$HTTP_PORT
valve_ht=$HT_PID
kill -USR1 "$burst"
wait_for_line "$T/err-valve" 'exceed --max-call-rate' 20 1 "$valve_ht"
ok $? "call_burst trips the valve" || diag "$(tail -n 5 "$T/err-valve")"

# The in-process sampled path: its totals are unbiased for the sampler's
# rate, told by the weights of its samples, exact at -r 1 too.
[ -f "$BUILD/libheaptrace-sampler.so" ] || bail_out "the sampler is not built (make)"
start_http_trace "$T/err-sampler" -r 1 -i 1h -o "$T" --preload -- \
	"$FIXTURES/alloc_known-nofp" --hold 120 || bail_out "the sampler's heaptrace did not start"
sampler_port=$HTTP_PORT
sampler_ht=$HT_PID
like "$(grep -m1 'tracing pid' "$T/err-sampler")" 'in-process sampler' "traced through the sampler"
sampler_pid=$(sed -n 's/^heaptrace: tracing pid \([0-9]*\) .*/\1/p' "$T/err-sampler" | head -n 1)

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: heaptrace
    static_configs:
      - targets: ['127.0.0.1:$port']
  - job_name: valve
    static_configs:
      - targets: ['127.0.0.1:$valve_port']
  - job_name: sampler
    static_configs:
      - targets: ['127.0.0.1:$sampler_port']
EOF
promtool check config "$T/prometheus.yml" >/dev/null 2>&1 || bail_out "promtool rejects the config"
start_prometheus "$T/prometheus.yml" || bail_out "prometheus did not start"

sel="job=\"heaptrace\",pid=\"$fix\""
is "$(prom_wait_value "heaptrace_inuse_bytes{$sel}" 51480 60)" 51480 \
	"PromQL: heaptrace_inuse_bytes is the fixture's exact in-use, 51480 bytes"
is "$(prom_value "heaptrace_inuse_objects{$sel}")" 27 "PromQL: 27 objects in use"
is "$(prom_value "heaptrace_alloc_bytes_total{$sel}")" 147100 "PromQL: 147100 bytes allocated"
is "$(prom_value "heaptrace_alloc_objects_total{$sel}")" 1029 "PromQL: 1029 blocks allocated"
is "$(prom_value "heaptrace_samples_total{$sel}")" 1029 "PromQL: 1029 samples at -r 1"
is "$(prom_value "heaptrace_tracked_frees_total{$sel}")" 1002 "PromQL: 1002 tracked frees"
is "$(prom_value "heaptrace_stacks{$sel}")" 12 "PromQL: 12 stacks"
calls=$(prom_value "heaptrace_allocator_calls_total{$sel}")
like "$calls" '^[0-9]+$' "PromQL: allocator calls counted ($calls)"
ok $((calls >= 1029 ? 0 : 1)) "PromQL: at least the 1029 allocations were calls"
is "$(prom_value "heaptrace_unwind_failures_total{$sel}")" 0 "PromQL: every stack unwound (DWARF mode)"
is "$(prom_value "count(heaptrace_lost_events_total{$sel})")" 8 "PromQL: eight loss reasons"
is "$(prom_value "sum(heaptrace_lost_events_total{$sel})")" 0 "PromQL: nothing lost"
like "$(prom_query "heaptrace_lost_events_total{$sel,reason=\"ring_buffer_full\"}" | cut -f 1)" \
	"reason=ring_buffer_full" "lost events carry a reason label"
cgpath=${unit_cg#"$root"}
is "$(prom_query "heaptrace_inuse_bytes{$sel}" | cut -f 1)" \
	"cgroup=$cgpath,comm=alloc_known-nof,instance=127.0.0.1:$port,job=heaptrace,pid=$fix,unit=heaptrace-fixture.service" \
	"series are labelled pid, comm, cgroup (its v2 path) and unit"
rss=$(prom_value "heaptrace_process_resident_memory_bytes{$sel}")
within "$rss" $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$fix/status") * 1024)) 50 \
	"PromQL: the fixture's RSS matches its VmRSS"
is "$(prom_value "heaptrace_valve_probes_off{$sel}")" 0 "PromQL: the fixture's probes are on"
like "$(prom_value "heaptrace_valve_budget_calls_per_second{$sel}")" '^[1-9][0-9]*$' \
	"PromQL: the default valve's budget, in calls a second"
is "$(prom_value "max(count by (__name__, reason) ({$sel}))")" 1 \
	"one series per metric and reason: none per stack"

# heaptrace's own series.
like "$(prom_value "process_cpu_seconds_total{job=\"heaptrace\"}")" '^[0-9.e-]+$' \
	"PromQL: heaptrace's own CPU seconds"
ht_rss=$(prom_value "process_resident_memory_bytes{job=\"heaptrace\"}")
within "$ht_rss" $(($(awk '/^VmRSS:/ { print $2 }' "/proc/$ht/status") * 1024)) 50 \
	"PromQL: heaptrace's own RSS matches its VmRSS"
is "$(prom_value "heaptrace_traced_processes{job=\"heaptrace\"}")" 1 "PromQL: one process traced"
is "$(prom_value "heaptrace_sample_rate_bytes{job=\"heaptrace\"}")" 1 "PromQL: sample rate 1"
like "$(prom_query "heaptrace_build_info{job=\"heaptrace\"}" | cut -f 1)" \
	"version=$(cat "$TOPDIR/VERSION")" "PromQL: heaptrace_build_info has the version"

vsel="job=\"valve\",pid=\"$burst\""
is "$(prom_wait_value "heaptrace_valve_probes_off{$vsel}" 1 30)" 1 \
	"PromQL: the valve keeps call_burst's probes off"
is "$(prom_value "heaptrace_valve_trips_total{$vsel}")" 1 "PromQL: the valve tripped once"
is "$(prom_value "heaptrace_valve_budget_calls_per_second{$vsel}")" 1000 \
	"PromQL: the valve's budget is --max-call-rate 1000"
like "$(prom_value "heaptrace_valve_probes_off_seconds_total{$vsel} > 0")" '^[0-9.e-]+$' \
	"PromQL: the probes have been off for a while"
is "$(prom_query "heaptrace_inuse_bytes{$vsel}")" "" "--alloc-only: no in-use series"
like "$(prom_value "heaptrace_alloc_objects_total{$vsel}")" '^[0-9]+$' \
	"--alloc-only: allocation series still there"

ssel="job=\"sampler\",pid=\"$sampler_pid\""
is "$(prom_wait_value "heaptrace_inuse_bytes{$ssel}" 51480 30)" 51480 \
	"PromQL, in-process sampler: the exact in-use, 51480 bytes"
is "$(prom_value "heaptrace_alloc_bytes_total{$ssel}")" 147100 \
	"PromQL, in-process sampler: 147100 bytes allocated"

# One process's page: the target's labels name it, so its series carry none.
curl -s -m 10 "http://127.0.0.1:$port/pid/$fix/metrics" >"$T/scoped"
is "$(grep -c "^heaptrace_inuse_bytes 51480$" "$T/scoped")" 1 "/pid/PID/metrics: unlabelled series"
promtool check metrics <"$T/scoped" >"$T/promtool" 2>&1
is $? 0 "promtool check metrics accepts /pid/PID/metrics" || diag "$(head -n 20 "$T/promtool")"
is "$(grep -c '^process_cpu_seconds_total' "$T/scoped")" 0 "/pid/PID/metrics: no heaptrace series"
is "$(curl -s -m 10 "http://127.0.0.1:$port/metrics?pid=$fix" | grep -c '^heaptrace_inuse_bytes 51480$')" \
	1 "/metrics?pid=PID: the same"
is "$(http_code "http://127.0.0.1:$port/metrics?pid=999999999")" 404 "/metrics of an untraced pid: 404"
is "$(http_code "http://127.0.0.1:$port/metrics?pid=abc")" 400 "/metrics?pid=abc: 400"
is "$(http_code "http://127.0.0.1:$port/pid/$fix/metrics?pid=1")" 400 "/pid/A/metrics?pid=B: 400"
is "$(http_code "http://127.0.0.1:$port/pid/0/metrics")" 404 "/pid/0/metrics: 404"
is "$(http_code "http://127.0.0.1:$port/metrics" -X POST)" 405 "POST /metrics: 405"

kill -INT "$ht" "$valve_ht" "$sampler_ht"
wait_exit "$ht" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
wait_exit "$valve_ht" 20
is "$EXIT_STATUS" 0 "the valve's heaptrace exits 0 on SIGINT"
done_testing
