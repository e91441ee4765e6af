# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# lib-prom.sh - runs Debian's real Prometheus server on loopback for the
# /metrics and service-discovery tests, and reads its HTTP API.
# Sourced after lib.sh and lib-http.sh.

PROM_URL=
PROM_PID=

require_prometheus() {
	command -v prometheus >/dev/null ||
		bail_out "prometheus is not installed (scripts/install-deps.sh)"
	command -v promtool >/dev/null ||
		bail_out "promtool is not installed (scripts/install-deps.sh: prometheus)"
	command -v python3 >/dev/null || bail_out "python3 is not installed (scripts/install-deps.sh)"
}

# free_port: a TCP port on 127.0.0.1 nothing listens on right now.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_prometheus CONFIG_FILE: starts prometheus with its data in $T and
# waits until it is ready; sets PROM_URL and PROM_PID. A port taken between
# free_port and the start makes it try another, up to three times.
start_prometheus() {
	local config=$1 port try
	for try in 1 2 3; do
		port=$(free_port)
		rm -rf "$T/prom-data"
		prometheus --config.file="$config" --storage.tsdb.path="$T/prom-data" \
			--web.listen-address="127.0.0.1:$port" --log.level=warn \
			>"$T/prom.out" 2>"$T/prom.err" &
		PROM_PID=$!
		track_pid "$PROM_PID"
		PROM_URL=http://127.0.0.1:$port
		for _ in $(seq 300); do
			[ "$(http_code "$PROM_URL/-/ready")" = 200 ] && return 0
			is_running "$PROM_PID" || break
			sleep 0.1
		done
		diag "prometheus (try $try) did not get ready: $(tail -n 5 "$T/prom.err")"
		kill "$PROM_PID" 2>/dev/null
		wait "$PROM_PID" 2>/dev/null
	done
	return 1
}

# prom_query EXPR: the values of an instant query's result, one per line as
# "label=value,...<TAB>value", sorted; nothing when the result is empty.
prom_query() {
	curl -s -m 10 --data-urlencode "query=$1" "$PROM_URL/api/v1/query" | python3 -c '
import json, sys
d = json.load(sys.stdin)
if d.get("status") != "success":
    sys.exit("query failed: %s" % d)
rows = []
for r in d["data"]["result"]:
    m = r["metric"]
    labels = ",".join("%s=%s" % (k, m[k]) for k in sorted(m) if k != "__name__")
    rows.append("%s\t%s" % (labels, r["value"][1]))
print("\n".join(sorted(rows)))'
}

# prom_value EXPR: the value of a query that has one result, else "".
prom_value() {
	local out
	out=$(prom_query "$1") || return 1
	[ "$(printf '%s\n' "$out" | grep -c .)" = 1 ] || return 0
	printf '%s\n' "$out" | cut -f 2
}

# prom_wait_value EXPR WANT [TIMEOUT_S]: waits until prom_value EXPR is WANT;
# prints the last value seen.
prom_wait_value() {
	local expr=$1 want=$2 timeout=${3:-30} v=
	local deadline=$((SECONDS + timeout))
	while [ $SECONDS -lt "$deadline" ]; do
		v=$(prom_value "$expr")
		[ "$v" = "$want" ] && break
		sleep 0.5
	done
	echo "$v"
}

# prom_active_targets JOB: the active targets of a job as
# "health<TAB>scrapeUrl<TAB>label=value,..." lines, sorted.
prom_active_targets() {
	curl -s -m 10 "$PROM_URL/api/v1/targets?state=active" | python3 -c '
import json, sys
job = sys.argv[1]
d = json.load(sys.stdin)
rows = []
for t in d["data"]["activeTargets"]:
    if t["labels"].get("job") != job:
        continue
    l = t["labels"]
    rows.append("%s\t%s\t%s" % (t["health"], t["scrapeUrl"],
                ",".join("%s=%s" % (k, l[k]) for k in sorted(l))))
print("\n".join(sorted(rows)))' "$1"
}
