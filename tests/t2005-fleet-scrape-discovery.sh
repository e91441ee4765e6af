#!/bin/bash
# /debug/pprof/targets: Prometheus HTTP service discovery. Debian's real
# Prometheus reads it through http_sd_configs and lists one target per
# traced process with its labels, scrapes each at its own /pid/PID/metrics,
# and drops a process's target once it exits. The path forms the list
# points at serve the same profiles as ?pid= does, to go tool pprof too.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"
. "$(dirname "$0")/lib-prom.sh"

require_root_btf
require_fixture alloc_known-nofp
require_prometheus
command -v curl >/dev/null || bail_out "curl is not installed (scripts/install-deps.sh)"

start_fixture alloc_known-nofp --wait --hold 120 || bail_out "fixture A did not start"
a=$FIX_PID
start_fixture alloc_known-nofp --wait --hold 120 --repeat 2 || bail_out "fixture B did not start"
b=$FIX_PID
start_http_trace "$T/err" -r 1 -i 1h -o "$T" -p "$a" -p "$b" || bail_out "heaptrace did not start"
port=$HTTP_PORT
kill -USR1 "$a" "$b"

# The list itself.
curl -s -m 10 -D "$T/hdr" -o "$T/targets.json" "http://127.0.0.1:$port/debug/pprof/targets"
like "$(grep -i '^content-type:' "$T/hdr")" 'application/json' "the list is JSON"
python3 - "$T/targets.json" "$port" "$a" "$b" >"$T/check" 2>&1 <<'EOF'
import json, sys
path, port, a, b = sys.argv[1:]
groups = json.load(open(path))
assert isinstance(groups, list) and len(groups) == 2, "two target groups: %r" % groups
for g, pid in zip(sorted(groups, key=lambda g: int(g["labels"]["pid"])), sorted([a, b], key=int)):
    assert g["targets"] == ["127.0.0.1:" + port], g
    l = g["labels"]
    assert l["pid"] == pid and l["comm"] == "alloc_known-nof", l
    assert l["service_name"] == "alloc_known-nof", l
    assert l["__metrics_path__"] == "/pid/%s/metrics" % pid, l
    assert l["__param_pid"] == pid, l
    assert l["__profile_path_prefix__"] == "/pid/%s" % pid, l
    assert all(isinstance(v, str) for v in l.values()), l
print("ok")
EOF
is "$(cat "$T/check")" ok "/debug/pprof/targets: one group per process, its labels and paths"
like "$(curl -s -m 10 -H 'Host: profiler.example:7777' "http://127.0.0.1:$port/debug/pprof/targets")" \
	'"targets": \["profiler\.example:7777"\]' "targets use the Host the scraper asked"

cat >"$T/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: heaptrace-sd
    http_sd_configs:
      - url: http://127.0.0.1:$port/debug/pprof/targets
        refresh_interval: 1s
EOF
promtool check config "$T/prometheus.yml" >/dev/null 2>&1 || bail_out "promtool rejects the config"
start_prometheus "$T/prometheus.yml" || bail_out "prometheus did not start"

for _ in $(seq 60); do
	prom_active_targets heaptrace-sd >"$T/active"
	[ "$(grep -c '^up' "$T/active")" = 2 ] && break
	sleep 0.5
done
is "$(grep -c '^up' "$T/active")" 2 "Prometheus: two targets, both up" || diag "$(cat "$T/active")"
for p in "$a" "$b"; do
	like "$(grep -F "pid=$p," "$T/active" | cut -f 2)" \
		"^http://127\.0\.0\.1:$port/pid/$p/metrics\?pid=$p$" \
		"Prometheus scrapes pid $p at /pid/$p/metrics (__metrics_path__, __param_pid)"
	like "$(grep -F "pid=$p," "$T/active" | cut -f 3)" \
		"(^|,)comm=alloc_known-nof,.*job=heaptrace-sd,pid=$p,service_name=alloc_known-nof" \
		"Prometheus: pid $p's target has the labels comm, pid and service_name"
done

is "$(prom_wait_value "heaptrace_inuse_bytes{job=\"heaptrace-sd\",pid=\"$a\"}" 51480 60)" 51480 \
	"PromQL: pid $a's in-use, 51480 bytes, labelled by discovery"
is "$(prom_wait_value "heaptrace_inuse_bytes{job=\"heaptrace-sd\",pid=\"$b\"}" 102960 60)" \
	102960 "PromQL: pid $b's in-use, 102960 bytes (the table twice)"
is "$(prom_value "count(heaptrace_inuse_bytes{job=\"heaptrace-sd\",exported_pid!=\"\"})")" "" \
	"no exported_ labels: the per-process pages leave the identity to the target"

# The path forms the list points at.
prefix=http://127.0.0.1:$port/pid/$b/debug/pprof
is "$(pprof_flat "$prefix/heap" inuse_space leak_malloc)" 20000 \
	"go tool pprof on /pid/$b/debug/pprof/heap: leak_malloc holds 20000 bytes"
is "$(pprof_flat "$prefix/allocs" alloc_space churn)" 190040 \
	"go tool pprof on /pid/$b/debug/pprof/allocs: churn allocated 190040 bytes"
curl -s -m 10 -o "$T/path.pb.gz" "$prefix/heap"
curl -s -m 10 -o "$T/query.pb.gz" "http://127.0.0.1:$port/debug/pprof/heap?pid=$b"
is "$(pprof_total "$T/path.pb.gz" inuse_space)" "$(pprof_total "$T/query.pb.gz" inuse_space)" \
	"/pid/PID/debug/pprof/heap and ?pid=PID serve the same profile"
is "$(http_code "$prefix/heap?pid=$a")" 400 "/pid/B/...heap?pid=A: 400"
curl -s -m 10 "$prefix/" >"$T/index"
is "$(grep -c '^  pid [0-9]* (' "$T/index")" 1 "/pid/$b/debug/pprof/ lists one process"
like "$(grep '^  pid [0-9]* (' "$T/index")" "^  pid $b " "/pid/$b/debug/pprof/ lists pid $b"
is "$(http_code "http://127.0.0.1:$port/pid/$b/debug/pprof/targets")" 404 \
	"the list exists only once, not per process"
is "$(http_code "http://127.0.0.1:$port/pid/$b")" 404 "/pid/PID alone: 404"

# A process that exits leaves the list, and Prometheus drops its target.
kill "$a"
wait_exit "$a" 10
for _ in $(seq 100); do
	curl -s -m 5 "http://127.0.0.1:$port/debug/pprof/targets" >"$T/after.json"
	grep -q "\"pid\": \"$a\"" "$T/after.json" || break
	sleep 0.1
done
is "$(grep -c '"pid": ' "$T/after.json")" 1 "after pid $a exits, the list has one target"
for _ in $(seq 60); do
	prom_active_targets heaptrace-sd >"$T/active"
	[ "$(grep -c . "$T/active")" = 1 ] && break
	sleep 0.5
done
like "$(cat "$T/active")" "^up.*pid=$b," "Prometheus: only pid $b's target is left"
is "$(http_code "http://127.0.0.1:$port/pid/$a/debug/pprof/heap")" 404 "/pid/$a/...: 404 once it exited"

kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0 on SIGINT"
done_testing
