#!/bin/bash
# bench/sampler.sh - what libheaptrace-sampler.so costs a malloc(64)+free
# pair (bench/mallocbench.c, 1 thread, 2,000,000 pairs), side by side in one
# run, rounds alternating, medians of ROUNDS:
#   untraced      no preload
#   nop1 / nop5   the sampler preloaded, no tracer (semaphores 0)
#   nop1-traced / nop5-traced
#                 the sampler with bpftrace on both probes (default rate:
#                 about one sample per 512 KiB allocated, so few probe hits)
# and each one's ratio to untraced.
# Usage: sudo bench/sampler.sh [ROUNDS]   (default 5; about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
ROUNDS=${1:-5}
PAIRS=2000000
make -s BUILD="$BUILD" sampler >/dev/null
MB=$BUILD/bench/mallocbench
mkdir -p "$BUILD/bench"
cc -O2 -Wall -Wextra -Werror bench/mallocbench.c -o "$MB" -lpthread -lstdc++
T=$(mktemp -d /tmp/heaptrace-sampler-bench.XXXXXX)
BT=
trap 'if [ -n "$BT" ]; then kill -INT $BT 2>/dev/null; fi; rm -rf "$T"' EXIT

lib_of() {
	local f
	for f in "$BUILD/libheaptrace-sampler.so" "$BUILD"/preload/libheaptrace-sampler-nop[15].so; do
		local kind=nop1
		if objdump -d "$f" | grep -A1 '<fire_alloc>:' | grep -q "0f 1f 44 00 00"; then
			kind=nop5
		fi
		if [ "$kind" = "$1" ]; then
			realpath "$f"
		fi
	done
	return 0
}
NOP1=$(lib_of nop1)
NOP5=$(lib_of nop5)

run() { # run NAME [LIB]: appends "NAME ns" to $T/results
	local ns
	ns=$(LD_PRELOAD=${2:-} "$MB" 1 64 $PAIRS | awk '{ print $2 }')
	echo "$1 $ns" >>"$T/results"
}

for r in $(seq "$ROUNDS"); do
	run untraced
	run nop1 "$NOP1"
	run nop5 "$NOP5"
done
if command -v bpftrace >/dev/null; then
	for kind in nop1 nop5; do
		lib=$NOP1
		[ $kind = nop5 ] && lib=$NOP5
		bpftrace -e "usdt:$lib:otel_memory:alloc { @a = count(); } usdt:$lib:otel_memory:free { @f = count(); }" \
			>"$T/bt.$kind" 2>&1 &
		BT=$!
		sleep 3
		for r in $(seq "$ROUNDS"); do
			run untraced
			run $kind-traced "$lib"
		done
		kill -INT $BT
		wait $BT || true
		BT=
	done
fi

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
base=$(awk '$1 == "untraced" { print $2 }' "$T/results" | median)
printf '%-14s %10s %8s\n' config ns/pair ratio
for c in untraced nop1 nop5 nop1-traced nop5-traced; do
	m=$(awk -v c=$c '$1 == c { print $2 }' "$T/results" | median)
	[ -n "$m" ] || continue
	printf '%-14s %10.1f %8.3f\n' $c "$m" "$(awk -v a="$m" -v b="$base" 'BEGIN { print a / b }')"
done
