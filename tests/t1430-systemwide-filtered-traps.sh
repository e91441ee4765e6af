#!/bin/bash
# Filtered system-wide mode puts breakpoints only into the processes its
# filters want: with --comm, libc's malloc in a wanted process starts with
# the breakpoint (int3, 0xcc), in a process of another name and in heaptrace
# itself it keeps its own first byte. A process that matches later (moved
# into --cgroup) is picked up at the next interval. Unfiltered system-wide
# mode, for contrast, traps every process (checked for one second).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp
command -v python3 >/dev/null || bail_out "python3 is not installed"

libc=$(awk '$6 ~ /\/libc\.so\.6$/ { print $6; exit }' /proc/self/maps)
malloc_vaddr=$(nm -D --defined-only "$libc" | awk '$3 == "malloc" || $3 == "malloc@@GLIBC_2.2.5" { print $1; exit }')
[ -n "$malloc_vaddr" ] || bail_out "no malloc in $libc"

# first_byte PID: the first byte of libc's malloc as that process sees it, in hex.
first_byte() {
	python3 - "$1" "$libc" "$malloc_vaddr" <<'PY'
import sys
pid, libc, vaddr = sys.argv[1], sys.argv[2], int(sys.argv[3], 16)
base = None
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5] == libc and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
with open(f"/proc/{pid}/mem", "rb") as m:
    m.seek(base + vaddr)
    print(m.read(1).hex())
PY
}

start_fixture alloc_known-nofp --wait --hold 30 || bail_out "fixture did not start"
wanted=$FIX_PID
start_fixture alloc_known-fp --wait --hold 30 || bail_out "fixture did not start"
other=$FIX_PID
untouched=$(first_byte "$other")
like "$untouched" '^[0-9a-f]{2}$' "libc's malloc of pid $other starts with 0x$untouched"
isnt_cc() { [ "$1" != cc ]; echo $?; }
ok "$(isnt_cc "$untouched")" "no breakpoint before heaptrace starts"

out=$T/out
mkdir -p "$out"
env --default-signal=INT,TERM "$HEAPTRACE" -v --comm alloc_known-nof -r 1 -i 500ms -o "$out" \
	>"$T/err.out" 2>"$T/err" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err" "^heaptrace: tracing every process named alloc_known-nof: 1 now" 30 1 "$HT_PID"
ok $? "--comm: the one wanted process is traced at start" || bail_out "$(cat "$T/err")"
is "$(first_byte "$wanted")" cc "--comm: the wanted process (pid $wanted) has the breakpoint"
is "$(first_byte "$other")" "$untouched" "--comm: a process of another name (pid $other) has none"
is "$(first_byte "$HT_PID")" "$untouched" "--comm: heaptrace itself has none"

# A process whose name is wanted, started now: picked up at its exec.
start_fixture alloc_known-nofp --wait --hold 30 || bail_out "fixture did not start"
late=$FIX_PID
wait_for_line "$T/err" "^heaptrace: tracing pid $late " 10 1 "$HT_PID"
ok $? "--comm: a wanted process started later is traced (pid $late)"
is "$(first_byte "$late")" cc "--comm: ... and has the breakpoint"
is "$(first_byte "$other")" "$untouched" "--comm: the other process still has none"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "--comm: SIGINT: heaptrace exits 0"
is "$(first_byte "$wanted")" "$untouched" "--comm: after heaptrace, the wanted process has none again"

# --cgroup: a process moved into the cgroup after the start, found by the next sweep.
make_test_cgroup
env --default-signal=INT,TERM "$HEAPTRACE" -v --cgroup "$cg" -r 1 -i 500ms -o "$out" \
	>"$T/err2.out" 2>"$T/err2" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err2" "^heaptrace: tracing every process in $cg: 0 now" 30 1 "$HT_PID"
ok $? "--cgroup: nothing in the cgroup at start" || bail_out "$(cat "$T/err2")"
is "$(first_byte "$other")" "$untouched" "--cgroup: a process outside it has no breakpoint"
echo "$other" >"$cg/cgroup.procs"
wait_for_line "$T/err2" "^heaptrace: tracing pid $other " 10 1 "$HT_PID"
ok $? "--cgroup: a process moved into the cgroup is traced at the next interval"
is "$(first_byte "$other")" cc "--cgroup: ... and has the breakpoint"
is "$(first_byte "$wanted")" "$untouched" "--cgroup: a process outside it still has none"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "--cgroup: SIGINT: heaptrace exits 0"

# Unfiltered, for contrast: every process mapping libc traps.
env --default-signal=INT,TERM "$HEAPTRACE" -r 1 -i 1h -o "$out" >"$T/err3.out" 2>"$T/err3" &
HT_PID=$!
track_pid "$HT_PID"
wait_for_line "$T/err3" "^heaptrace: tracing every process:" 30 1 "$HT_PID"
ok $? "unfiltered system-wide mode started"
is "$(first_byte "$wanted")" cc "unfiltered: pid $wanted has the breakpoint"
is "$(first_byte "$other")" cc "unfiltered: pid $other has it too"
kill -INT "$HT_PID"
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "unfiltered: SIGINT: heaptrace exits 0"

done_testing
