#!/bin/bash
# Dying and near-dying: oom_leak leaks 1 MiB every 50 ms in a memory cgroup
# of its own limited to 128 MiB until the kernel's OOM killer ends it.
# heaptrace writes a profile when the cgroup passes --oom-threshold (90%
# by default), before the kill, and the final profile and status line say
# that the OOM killer chose the process, with the cgroup's limit and usage.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture oom_leak-nofp

LIMIT=134217728 # 128 MiB
make_test_memcg $LIMIT

# The fixture joins the cgroup before it allocates anything (it waits for SIGUSR1).
env --default-signal=INT,TERM sh -ec 'echo $$ >"$1/cgroup.procs"; exec "$2" --wait' sh \
	"$memcg" "$FIXTURES/oom_leak-nofp" >"$T/fix.out" 2>"$T/fix.err" &
fix=$!
track_pid "$fix"
wait_for_line "$T/fix.out" '^ready$' 20 1 "$fix" || bail_out "oom_leak did not start"
rel=${memcg#/sys/fs/cgroup/memory}
rel=${rel#/sys/fs/cgroup/unified}
grep -q ":$rel\$" "/proc/$fix/cgroup" || bail_out "oom_leak is not in $memcg: $(cat /proc/$fix/cgroup)"
ok 0 "oom_leak (pid $fix) is in its memory cgroup before it leaks"

out=$T/out
mkdir -p "$out"
start_heaptrace "$T/err" -i 30s -o "$out" -p "$fix" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_exit "$fix" 60
is "$EXIT_STATUS" 137 "the OOM killer ended oom_leak (SIGKILL) after $(tail -n 1 "$T/fix.out")"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "heaptrace exits 0 when its target is gone"

profiles=$(profiles_of "$out")
is "$(wc -l <<<"$profiles")" 2 "two profiles: the one near the limit and the final one"
near=$(head -n 1 <<<"$profiles")
final=$(tail -n 1 <<<"$profiles")
pprof -comments "$near" >"$T/near.comments" 2>/dev/null
pprof -comments "$final" >"$T/final.comments" 2>/dev/null
like "$(grep '^near-oom' "$T/near.comments")" \
	"^near-oom: (9[0-9]|100)% of the memory cgroup's limit, over --oom-threshold 90%; memory cgroup $memcg \\(cgroup v[12]\\): limit 128.0 MiB, usage 1[12][0-9].[0-9] MiB" \
	"the first profile was written near the limit: $(grep '^near-oom' "$T/near.comments")"
near_inuse=$(pprof_flat "$near" inuse_space grow_forever)
ok "$([ "$near_inuse" -ge $((LIMIT * 80 / 100)) ]; echo $?)" \
	"...and holds the leak: grow_forever $near_inuse bytes in use"
like "$(grep '^oom-killed' "$T/final.comments")" \
	"^oom-killed: the kernel's OOM killer chose this process; memory cgroup $memcg \\(cgroup v[12]\\): limit 128.0 MiB, usage .*, peak 12[0-9].[0-9] MiB$" \
	"the final profile says the OOM killer chose it: $(grep '^oom-killed' "$T/final.comments")"
ok "$(grep -q '^near-oom' "$T/final.comments"; [ $? -ne 0 ]; echo $?)" "...and is not marked near-oom"
final_inuse=$(pprof_flat "$final" inuse_space grow_forever)
ok "$([ "$final_inuse" -ge "$near_inuse" ]; echo $?)" "the final profile holds at least as much ($final_inuse)"
like "$(grep -E "pid $fix .*: inuse" "$T/err" | head -n 1)" ", near-oom: .*limit 128.0 MiB" \
	"a status line for the near-limit profile"
like "$(grep -E "pid $fix .*: inuse" "$T/err" | tail -n 1)" "lost, oom-killed: the kernel's OOM killer chose this process; memory cgroup .*limit 128.0 MiB" \
	"the final status line says oom-killed, with the limit"
done_testing
