#!/bin/bash
# --push: every profile goes to a Pyroscope /ingest endpoint (a receiver in
# tests/ that makes the endpoint's documented checks: no Pyroscope server
# can be installed here) as the Go agent sends heap profiles: multipart
# profile + sample_type_config, name=SERVICE{labels}, alloc_* as
# per-interval deltas. Then an outage: the receiver is down for some
# intervals, profiles wait in the spool and go once it is back: none lost,
# none sent twice. Bad --push options fail with one clear line.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-push.sh"

require_root_btf
require_fixture alloc_known-nofp

# Section 3's systemd-like unit: a cgroup v2 directory named *.service.
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
[ -n "$cgroot" ] && [ -w "$cgroot" ] || _precondition_missing "no writable cgroup v2 hierarchy mounted"
unit=heaptrace-t2030-$$.service

FIX=$FIXTURES/alloc_known-nofp
COMM=alloc_known-nof # the 15 bytes the kernel keeps

# ---- 1. Every profile, its labels, its sample types, alloc_* as deltas.
R1=$T/rcv1
start_receiver "$R1"
out=$T/out1
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -i 1s -o "$out" --push "http://127.0.0.1:$RCV_PORT/" \
	--push-name myapp --push-label env=test --push-label team=heap \
	-- "$FIX" --repeat 3 --hold 1 >"$T/err1.out" 2>"$T/err1"
is "$?" 0 "heaptrace --push exits 0" || diag "$(cat "$T/err1")"
pid=$(sed -n 's/^heaptrace: tracing pid \([0-9]*\).*/\1/p' "$T/err1" | head -n 1)
files=$(profiles_of "$out")
nfiles=$(wc -l <<<"$files")
is "$(accepted "$R1" | wc -l)" "$nfiles" "each of the $nfiles profiles written is pushed and accepted"
is "$(grep -vc '"code": 200' "$R1/requests.jsonl")" 0 "no request refused"
is "$(times_of $(accepted_field "$R1" 'r["file"]') | tr '\n' ' ')" "$(times_of $files | tr '\n' ' ')" \
	"the pushed profiles are the written ones (same time_nanos, once each)"
is "$(accepted_field "$R1" 'sorted(r["labels"].items())' | sort -u)" \
	"$(python3 -c "print(sorted({'service_name': 'myapp', 'env': 'test', 'team': 'heap', 'comm': '$COMM', 'pid': '$pid', 'host': '$(hostname)', 'cgroup': '$(sed -n 's/^0:://p' /proc/self/cgroup)'}.items()))")" \
	"labels: service_name from --push-name, --push-label ones, comm, pid, host, cgroup"
is "$(accepted_field "$R1" 'r["stc"]["inuse_space"].get("aggregation"), r["stc"]["alloc_space"].get("aggregation"), r["stc"]["alloc_space"].get("cumulative")' | sort -u)" \
	"average None None" "sample_type_config: in-use averaged, alloc summed, not cumulative (deltas)"
like "$(accepted "$R1" | head -n 1)" '"path": "/ingest\?name=myapp%7B[^"]*&from=[0-9]+&until=[0-9]+&format=pprof' \
	"POST /ingest?name=myapp{...}&from=&until=&format=pprof"
pushed=$(accepted_field "$R1" 'r["file"]')
bad=0
for f in $pushed; do
	pprof -raw "$f" >/dev/null 2>&1 || bad=$((bad + 1))
done
is "$bad" 0 "go tool pprof reads every pushed profile"
last=$(last_profile "$out")
is "$(sum_flat alloc_space leak_malloc $pushed)" "$(pprof_flat "$last" alloc_space leak_malloc)" \
	"alloc_space deltas of leak_malloc add up to the cumulative 30000 of the last profile"
is "$(sum_flat alloc_objects churn $pushed)" 3000 "alloc_objects deltas of churn add up to 3 x 1000"
is "$(pprof_flat "$(tail -n 1 <<<"$pushed")" inuse_space leak_malloc)" 30000 \
	"in-use is sent as it is: the last pushed profile holds leak_malloc's 30000"
is "$(ls "$out/push-spool" | wc -l)" 0 "the spool is empty at the end"
stop_receiver

# ---- 1b. The same from the config file: its keys are the option names.
R1=$T/rcv1b
start_receiver "$R1"
printf 'push = http://127.0.0.1:%s\npush-name = fromconf\npush-label = env=conf\npush-label = tier=2\n' \
	"$RCV_PORT" >"$T/heaptrace.conf"
mkdir -p "$T/out1b"
run_bounded 60 "$HEAPTRACE" --config "$T/heaptrace.conf" -r 1 -o "$T/out1b" -- "$FIX" \
	>"$T/err1b.out" 2>"$T/err1b"
is "$?" 0 "heaptrace --config with push settings exits 0" || diag "$(cat "$T/err1b")"
is "$(accepted_field "$R1" 'r["labels"]["service_name"], r["labels"].get("env"), r["labels"].get("tier")' | sort -u)" \
	"fromconf conf 2" "push, push-name and each push-label line of the config file apply"
stop_receiver

# ---- 2. An outage of some intervals, then recovery.
R2=$T/rcv2
start_receiver "$R2"
port=$RCV_PORT
out=$T/out2
mkdir -p "$out"
env --default-signal=INT,TERM "$HEAPTRACE" -r 1 -i 500ms -o "$out" --push "http://127.0.0.1:$port" \
	-- "$FIX" --repeat 9 --hold 1 >"$T/err2.out" 2>"$T/err2" &
ht=$!
track_pid "$ht"
for _ in $(seq 1 100); do
	[ "$(accepted "$R2" | wc -l)" -ge 2 ] && break
	sleep 0.1
done
stop_receiver
sleep 3
waiting=$(ls "$out/push-spool" | grep -c '\.push$')
ok "$([ "$waiting" -ge 3 ]; echo $?)" "while the server is down, profiles wait in the spool ($waiting)"
like "$(grep -m1 'push:' "$T/err2")" "^heaptrace: warning: push: cannot send to http://127.0.0.1:$port/ingest: .*: retrying, profiles wait in $out/push-spool$" \
	"the outage is said once, with where the profiles wait"
start_receiver "$R2" "$port"
is "$RCV_PORT" "$port" "the receiver is back on the same port"
wait_exit "$ht" 40
is "$EXIT_STATUS" 0 "heaptrace exits 0 after the outage" || diag "$(cat "$T/err2")"
files=$(profiles_of "$out")
nfiles=$(wc -l <<<"$files")
is "$(accepted "$R2" | wc -l)" "$nfiles" "all $nfiles profiles arrived: none lost"
is "$(times_of $(accepted_field "$R2" 'r["file"]') | tr '\n' ' ')" "$(times_of $files | tr '\n' ' ')" \
	"each exactly once, the same time_nanos as the written ones"
is "$(times_of $(accepted_field "$R2" 'r["file"]') | uniq -d | wc -l)" 0 "none sent twice"
is "$(accepted_field "$R2" 'r["time_nanos"]' | sort -c 2>&1 | wc -l)" 0 "they arrived in order"
like "$(grep 'takes profiles again' "$T/err2")" "^heaptrace: push: http://127.0.0.1:$port/ingest takes profiles again \(after [0-9]+ failed attempts\)$" \
	"the recovery is said"
is "$(sum_flat alloc_space leak_malloc $(accepted_field "$R2" 'r["file"]'))" 90000 \
	"alloc_space deltas across the outage add up to 9 x 10000"
is "$(ls "$out/push-spool" | wc -l)" 0 "the spool is empty at the end"
stop_receiver

# ---- 3. A process in a systemd unit's cgroup gets a unit label, not a cgroup one.
mkdir "$cgroot/$unit"
trap 'for p in $(cat "$cgroot/$unit/cgroup.procs" 2>/dev/null); do echo "$p" >"$cgroot/cgroup.procs"; done; rmdir "$cgroot/$unit"; _cleanup' EXIT
R3=$T/rcv3
start_receiver "$R3"
out=$T/out3u
mkdir -p "$out"
# The command joins the unit's cgroup, then execs the fixture: its profiles are the new image's.
run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" --push "http://127.0.0.1:$RCV_PORT" \
	-- sh -ec 'echo $$ >"$1/cgroup.procs"; exec "$2"' sh "$cgroot/$unit" "$FIX" \
	>"$T/err3u.out" 2>"$T/err3u"
is "$?" 0 "heaptrace --push on a command in $unit exits 0" || diag "$(cat "$T/err3u")"
is "$(accepted_field "$R3" 'r["labels"].get("unit"), "cgroup" in r["labels"]' | tail -n 1)" \
	"$unit False" "the fixture's profiles carry unit=$unit and no cgroup label"
stop_receiver

# ---- 4. Bad options: one error line, no profile.
expect_error() {
	local desc=$1 re=$2
	shift 2
	run_bounded 20 "$HEAPTRACE" "$@" -- "$FIX" >"$T/bad.out" 2>"$T/bad"
	local rc=$?
	ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ]; echo $?)" "$desc: non-zero exit ($rc)"
	is "$(grep -c '^heaptrace: error:' "$T/bad")" 1 "$desc: one error line" || diag "$(cat "$T/bad")"
	like "$(grep -m1 '^heaptrace: error:' "$T/bad")" "$re" "$desc: it names the problem and the fix"
}
mkdir -p "$T/out3" "$T/out3h"
expect_error "--push ftp://" "invalid --push URL 'ftp://x': give a Pyroscope server's http:// or https:// URL" \
	-o "$T/out3" --push ftp://x
expect_error "--push-label 9x=1" "invalid --push-label '9x=1': give KEY=VALUE" \
	-o "$T/out3" --push http://127.0.0.1:9 --push-label 9x=1
expect_error "--push-label __name__" "invalid --push-label '__name__=x'" \
	-o "$T/out3" --push http://127.0.0.1:9 --push-label __name__=x
expect_error "missing token file" "cannot read --push-token-file '$T/none': No such file or directory: give a readable file" \
	-o "$T/out3" --push http://127.0.0.1:9 --push-token-file "$T/none"
expect_error "spool without parent" "cannot create the push spool '$T/no/such': No such file or directory" \
	-o "$T/out3" --push http://127.0.0.1:9 --push-spool "$T/no/such"
start_heaptrace "$T/holder" -o "$T/out3h" --push http://127.0.0.1:9 --push-spool "$T/shared" \
	-- "$FIX" --hold 30 || true
expect_error "a spool in use" "push spool '$T/shared' is in use by another heaptrace: give each its own --push-spool DIR" \
	-o "$T/out3" --push http://127.0.0.1:9 --push-spool "$T/shared"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 20
# The command, ended by heaptrace with SIGTERM, gives its status (docs/cli.md).
is "$EXIT_STATUS" 143 "the heaptrace holding the spool stops cleanly on SIGINT (its command's 143)"
is "$(profiles_of "$T/out3" | wc -l)" 0 "no profile written by the bad runs"

done_testing
