#!/bin/bash
# libheaptrace-sampler.so under a real tracer (bpftrace on its USDT probes):
# attaching raises the semaphores (read from /proc/PID/mem) and detaching
# drops them; at HEAPTRACE_SAMPLE_RATE=1 every allocation fires alloc with
# its size and weight = size, and every free of those blocks fires free;
# at the default rate weighted_bytes is size / (1 - exp(-size/R)) and its
# sum estimates the bytes allocated. With every block sampled and tagged,
# the exercise program, Debian's python3 and g++ still run correctly.
. "$(dirname "$0")/lib.sh"
. "$TOPDIR/tests/preload/lib-sampler.sh"

require_sampler
require_bpftrace

counting_script >"$T/count.bt"

# ---- semaphores: 0 untraced, raised by attaching, dropped by detaching
sem_off=$(($(note_field alloc Semaphore)))
LD_PRELOAD=$SAMPLER "$PRELOAD_BIN/sampler-known" hold >"$T/hold.out" 2>&1 &
hold=$!
track_pid $hold
wait_for_line "$T/hold.out" '^ready$' 20 1 $hold
base=$(lib_base $hold)
ok "$([ -n "$base" ]; echo $?)" "the sampler is mapped in the process (at 0x$base)"
is "$(read_u16 $hold $((0x$base + sem_off)))" 0 "untraced: the alloc semaphore is 0"
is "$(read_u16 $hold $((0x$base + sem_off + 2)))" 0 "untraced: the free semaphore is 0"
start_bpftrace "$T/count.bt" "$T/bt0.out" || bail_out "bpftrace did not start"
is "$(read_u16 $hold $((0x$base + sem_off)))" 1 "traced: the alloc semaphore is 1"
is "$(read_u16 $hold $((0x$base + sem_off + 2)))" 1 "traced: the free semaphore is 1"
stop_bpftrace "$T/bt0.out"
is "$(read_u16 $hold $((0x$base + sem_off)))" 0 "detached: the alloc semaphore is 0 again"
kill $hold
wait $hold 2>/dev/null

# ---- exact counts at rate 1
KNOWN='
1111 1000
2222  500
3333  100
4444   10
5555   10
6666   10
777    50
'
check_known() {
	local label=$1 out=$2 size n
	while read -r size n; do
		[ -n "$size" ] || continue
		is "$(bt_map "$out" n "$size")" "$n" "$label: $n alloc events of $size bytes"
		is "$(bt_map "$out" sz "$size")" $((n * size)) "$label: their sizes sum to $((n * size))"
		is "$(bt_map "$out" w "$size")" $((n * size)) "$label: weighted bytes = size at rate 1"
		is "$(bt_map "$out" f "$size")" "$n" "$label: $n free events of them"
	done <<<"$KNOWN"
	x=$(bt_map "$out" unknown_frees)
	is "${x:-0}" 0 "$label: no free event for a block not seen allocated"
}
for lib in "$SAMPLER" "$SAMPLER_OTHER"; do
	label=$(site_kind "$lib")
	counting_script "$lib" >"$T/count-$label.bt"
	start_bpftrace "$T/count-$label.bt" "$T/bt-$label.out" "$lib" || bail_out "bpftrace did not start"
	out=$(HEAPTRACE_SAMPLE_RATE=1 LD_PRELOAD=$lib run_bounded 30 "$PRELOAD_BIN/sampler-known" 2>&1)
	is "$out" "known ok" "$label, rate 1, traced: the known allocations run"
	stop_bpftrace "$T/bt-$label.out"
	check_known "$label, rate 1" "$T/bt-$label.out"
done

# ---- the default rate: the weight of each size, and the estimate of all bytes
start_bpftrace "$T/count.bt" "$T/bt-default.out" || bail_out "bpftrace did not start"
out=$(LD_PRELOAD=$SAMPLER run_bounded 60 "$PRELOAD_BIN/sampler-known" 300 2>&1)
is "$out" "known ok" "default rate, traced: 300 rounds of the known allocations run"
stop_bpftrace "$T/bt-default.out"
total=0
while read -r size n; do
	[ -n "$size" ] || continue
	total=$((total + 300 * n * size))
	cnt=$(bt_map "$T/bt-default.out" n "$size")
	w=$(bt_map "$T/bt-default.out" w "$size")
	[ -n "$cnt" ] || continue
	want=$(awk -v s="$size" 'BEGIN { printf "%d\n", s / (1 - exp(-s / 524288)) + 0.5 }')
	is "$((w / cnt))" "$want" "default rate: each $size-byte sample weighs size/(1-exp(-size/R)) = $want"
done <<<"$KNOWN"
est=0
while read -r size n; do
	[ -n "$size" ] || continue
	w=$(bt_map "$T/bt-default.out" w "$size")
	est=$((est + ${w:-0}))
done <<<"$KNOWN"
within "$est" "$total" 15 "default rate: the weighted bytes estimate the $total bytes allocated ($est)"
events=$(bt_map "$T/bt-default.out" events)
ok "$([ "${events:-0}" -gt 300 ] && [ "${events:-0}" -lt 5000 ]; echo $?)" \
	"default rate: about one sample per 512 KiB ($events for $total bytes)"

# ---- every block sampled: real programs still right
# On a 5-byte nop the kernel's trampoline call kills a forked child that
# reaches the site (Linux 6.18.44; docs/sampler.md): a TODO, not the library's.
for lib in "$SAMPLER_OTHER" "$SAMPLER"; do
	kind=$(site_kind "$lib")
	counting_script "$lib" >"$T/count-ex-$kind.bt"
	start_bpftrace "$T/count-ex-$kind.bt" "$T/bt-ex-$kind.out" "$lib" || bail_out "bpftrace did not start"
	for rate in 1 ""; do
		label="$kind, rate ${rate:-default}, traced"
		out=$(HEAPTRACE_SAMPLE_RATE=$rate LD_PRELOAD=$lib run_bounded 60 "$PRELOAD_BIN/sampler-exercise" "$DLO" 2>&1)
		st=$?
		if [ $kind = nop5 ] && [ $st -ne 0 ] && grep -q 'child: status 0xb' <<<"$out"; then
			todo "$label: the exercise program passes its checks" "kernel: forked child SIGSEGV at an optimized uprobe"
		else
			is "$st" 0 "$label: the exercise program passes its checks" || diag "$out"
		fi
	done
	[ "$lib" = "$SAMPLER" ] || stop_bpftrace "$T/bt-ex-$kind.out"
done
out=$(HEAPTRACE_SAMPLE_RATE=1 LD_PRELOAD=$SAMPLER run_bounded 60 "$PY" -c '
import json
d = {str(i): [i] * (i % 30) for i in range(30000)}
print(len(json.loads(json.dumps(d))))' 2>&1)
is "$out" 30000 "rate 1, traced: Debian's python3 runs right"
cat >"$T/prog.cc" <<'EOC'
#include <iostream>
#include <string>
#include <vector>
int main()
{
	std::vector<std::string> v;
	for (int i = 0; i < 20000; i++)
		v.push_back(std::to_string(i) + std::string(i % 100, 'x'));
	std::cout << v.size() << std::endl;
}
EOC
HEAPTRACE_SAMPLE_RATE=1 LD_PRELOAD=$SAMPLER run_bounded 120 g++ -O1 "$T/prog.cc" -o "$T/prog" 2>"$T/gxx.err"
is "$?" 0 "rate 1, traced: g++ compiles a C++ program" || diag "$(cat "$T/gxx.err")"
is "$(HEAPTRACE_SAMPLE_RATE=1 LD_PRELOAD=$SAMPLER run_bounded 30 "$T/prog")" 20000 "rate 1, traced: and it runs"
stop_bpftrace "$T/bt-ex-$kind.out"
events=$(bt_map "$T/bt-ex-$kind.out" events)
frees=$(bt_map "$T/bt-ex-$kind.out" frees)
ok "$([ "${events:-0}" -gt 500000 ]; echo $?)" "rate 1: the programs' allocations fired alloc ($events)"
ok "$([ "${frees:-0}" -gt 400000 ]; echo $?)" "rate 1: and their frees fired free ($frees)"

done_testing
