#!/bin/bash
# Targets heaptrace cannot trace: each gets one clear error line and a
# non-zero exit, and nothing is written.
. "$(dirname "$0")/lib.sh"

require_root_btf

out=$T/out
mkdir -p "$out"

expect_target_error() {
	local desc=$1 re=$2
	shift 2
	run_bounded 20 "$HEAPTRACE" "$@" >"$T/stdout" 2>"$T/stderr"
	local rc=$?
	ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ]; echo $?)" "$desc: non-zero exit (got $rc)"
	is "$(grep -c '^heaptrace: error:' "$T/stderr")" 1 "$desc: exactly one error line" ||
		diag "$(cat "$T/stderr")"
	like "$(grep -m1 '^heaptrace: error:' "$T/stderr")" "$re" "$desc: the error names the problem"
	is "$(profiles_of "$out" | wc -l)" 0 "$desc: no profile written"
}

# A stripped static binary has no symbols left to find its malloc by.
cat >"$T/static.c" <<'C'
#include <stdlib.h>
#include <unistd.h>
int main(void) { void *volatile p = malloc(10); (void)p; pause(); return 0; }
C
if gcc -static -s -O1 -o "$T/static" "$T/static.c" 2>"$T/cc.err"; then
	"$T/static" &
	static_pid=$!
	track_pid "$static_pid"
	sleep 0.2
	expect_target_error "stripped static binary" "allocator not found in pid $static_pid" \
		-p "$static_pid" -o "$out"
else
	bail_out "cannot build a static test program: $(cat "$T/cc.err")"
fi

# A zombie exists as a PID but has no memory left to trace. The child ends
# after its parent became `sleep 30`, which never reaps it (a child ending
# before the exec could be reaped by bash itself).
bash -c 'sleep 0.3 & exec sleep 30' &
parent=$!
track_pid "$parent"
zombie=
for _ in $(seq 100); do
	zombie=$(ps -o pid=,stat= --ppid "$parent" | awk '$2 ~ /^Z/ { print $1 }')
	[ -n "$zombie" ] && break
	sleep 0.05
done
if [ -n "$zombie" ]; then
	expect_target_error "zombie process" "pid $zombie .*exited" -p "$zombie" -o "$out"
else
	bail_out "could not make a zombie process"
fi

done_testing
