#!/bin/bash
# --peak: a 64 MiB spike held 1 s in the middle of 3-s intervals is missed
# by every periodic profile, and caught by a peak profile written at the
# next one: COMM.PID.TIME.peak.heap.pb.gz, TIME within the spike, holding
# the spike's 64 MiB in spike_alloc; at most one per interval, none while
# in-use does not reach a new high, in both unwinding modes, and without
# --peak none at all. The fixture runs in a memory cgroup of its own
# (512 MiB), checked before it allocates.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture heap_patterns-nofp

mroot=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
mcg=
if [ -n "$mroot" ]; then
	mcg=$mroot/heaptrace-$TEST_NAME-$$
	mkdir "$mcg" && echo $((512 << 20)) >"$mcg/memory.limit_in_bytes" || mcg=
	limit_file=memory.limit_in_bytes
else
	make_test_cgroup
	mcg=$cg
	echo $((512 << 20)) >"$mcg/memory.max" || _precondition_missing "no memory controller in $mcg"
	limit_file=memory.max
fi
[ -n "$mcg" ] || _precondition_missing "cannot create a memory cgroup"
trap '_cleanup; rmdir "$mcg" 2>/dev/null' EXIT

# start_in_cgroup OUT ARGS...: the fixture, joined to the cgroup before it execs.
start_in_cgroup() {
	local out=$1
	shift
	sh -ec 'echo $$ >"$1/cgroup.procs"; shift; exec "$@"' sh "$mcg" \
		"$FIXTURES/heap_patterns-nofp" "$@" >"$out" 2>"$out.err" &
	FIX_PID=$!
	track_pid "$FIX_PID"
	wait_for_line "$out" '^ready$' 20 1 "$FIX_PID" || return 1
	grep -q "heaptrace-$TEST_NAME-$$" "/proc/$FIX_PID/cgroup"
}

# Churn only besides the spikes, so that every periodic profile has samples
# (an empty one is not written). Dumps every 3 s from heaptrace's start
# (before it attaches); the fixture
# starts once it has attached, so spikes at 3.3, 6.3 and 9.3 s after that
# sit inside intervals as long as attaching takes less than 1.7 s.
run() {
	local dir=$1
	shift
	mkdir -p "$dir"
	start_in_cgroup "$dir/fix.out" --wait --no-leak --no-cache --seconds 12 \
		--spike-every 3 --spike-first-ms 3300 || bail_out "fixture did not start in $mcg"
	ok 0 "fixture $FIX_PID runs in $mcg ($(cat "$mcg/$limit_file") bytes) before it allocates"
	start_heaptrace "$dir/err" -r 65536 -i 3s -o "$dir" -p "$FIX_PID" "$@" ||
		bail_out "heaptrace did not start"
	kill -USR1 "$FIX_PID"
	wait_exit "$HT_PID" 40
	is "$EXIT_STATUS" 0 "heaptrace ${*:-without --peak} exits 0 when the fixture ends"
}


run "$T/peak" --peak
spikes=$(grep -c '^spike ' "$T/peak/fix.out")
is "$spikes" 3 "three spikes of 64 MiB"
periodic=$(ls "$T/peak" | grep -E '^heap_patterns-n\.[0-9]+\.[0-9T]+Z\.heap\.pb\.gz$' | wc -l)
peaks=$(ls "$T/peak" | grep -E '^heap_patterns-n\.[0-9]+\.[0-9T]+Z\.peak\.heap\.pb\.gz$' | sort)
npeaks=$(echo "$peaks" | grep -c .)
ok "$([ "$periodic" -ge 4 ]; echo $?)" "$periodic periodic profiles"
missed=0
for f in $(ls "$T/peak" | grep -E 'Z\.heap\.pb\.gz$' | grep -v '\.peak\.'); do
	v=$(pprof_flat "$T/peak/$f" inuse_space spike_alloc)
	[ "$v" -ge $((32 << 20)) ] || missed=$((missed + 1))
done
is "$missed" "$periodic" "no periodic profile holds the spike (spike_alloc below 32 MiB in all $periodic)"
is "$npeaks" 1 "one peak profile: the first spike is the high, the later ones only equal it" ||
	diag "$(ls "$T/peak")"
pk=$T/peak/$(echo "$peaks" | head -n 1)
v=$(pprof_flat "$pk" inuse_space spike_alloc)
within "$v" $((64 << 20)) 5 "the peak profile holds the spike: spike_alloc $v bytes in use"
like "$(pprof -comments "$pk" 2>&1)" 'heaptrace peak: the highest sampled in-use' "its comment says it is a peak"
# Its name's time (seconds, UTC) lies within the first spike.
read -r s0 e0 <<<"$(grep -m1 '^spike ' "$T/peak/fix.out" | cut -d' ' -f2-)"
stamp=$(basename "$pk" | sed -E 's/^[^.]+\.[0-9]+\.([0-9T]+)Z\.peak\.heap\.pb\.gz$/\1/')
t=$(date -u -d "${stamp:0:4}-${stamp:4:2}-${stamp:6:2} ${stamp:9:2}:${stamp:11:2}:${stamp:13:2}" +%s)
ok "$([ "$t" -ge $((s0 / 1000000000)) ] && [ "$t" -le $((e0 / 1000000000)) ]; echo $?)" \
	"its name's time $stamp lies within the spike"
first=$(ls "$T/peak" | grep -E 'heap\.pb\.gz$' | sort | grep -n '\.peak\.' | cut -d: -f1)
ok "$([ "$first" -gt 1 ]; echo $?)" "it sorts among the periodic profiles (position $first)"
like "$(grep 'peak profile written' "$T/peak/err")" "pid $FIX_PID \(heap_patterns-n\): peak profile written: inuse 64\.[0-9] MiB" \
	"heaptrace says it wrote it"
"$HEAPTRACE" report --json "$T/peak" >"$T/peak.json"
is "$(jq -r '.processes[0].findings[] | select(.function == "spike_alloc") | .class' "$T/peak.json")" spike \
	"report over the directory, peak included: spike_alloc is a spike"

# Frame-pointer mode: the counters are the kernel's, the snapshot a walk of its maps.
run "$T/fp" --peak --unwind fp
fpeaks=$(ls "$T/fp" | grep -E '\.peak\.heap\.pb\.gz$')
is "$(echo "$fpeaks" | grep -c .)" 1 "--unwind fp: one peak profile"
v=$(pprof_flat "$T/fp/$(echo "$fpeaks" | head -n 1)" inuse_space spike_alloc)
within "$v" $((64 << 20)) 5 "--unwind fp: it holds the spike ($v bytes)"

run "$T/nopeak"
is "$(ls "$T/nopeak" | grep -c '\.peak\.')" 0 "without --peak, no peak profile"

done_testing
