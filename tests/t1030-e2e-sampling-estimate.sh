#!/bin/bash
# Sampling accuracy: leak_big leaks ~60 MB in blocks of 64 B..100 KiB from
# leak_many() and prints the exact truth; at --sample-rate 65536 the
# profile's unbiased in-use estimate must be within 10% of it. (Simulating
# Go's estimator on these exact sizes gives a standard deviation of 2.4%,
# so 10% is about 4 sigma.) churn_many() frees everything it allocates:
# its in-use is exactly 0 and its allocated bytes (41,328,644 in truth)
# are estimated within 20% (sd 3.8%).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture leak_big-fp

out=$T/out
mkdir -p "$out"
run_bounded 120 "$HEAPTRACE" -r 65536 -o "$out" -- "$FIXTURES/leak_big-fp" >"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace -r 65536 -- leak_big-fp exits 0" || diag "$(cat "$T/err")"

read -r word bytes objects <"$T/stdout"
is "$word" leaked "the fixture printed its truth ($(cat "$T/stdout"))"
is "$bytes" 60051774 "the fixture leaked the known 60051774 bytes (fixed seed)"
is "$objects" 1168 "in 1168 blocks"

prof=$(last_profile "$out")
ok "$([ -n "$prof" ]; echo $?)" "a profile was written"
if [ -n "$prof" ]; then
	is "$(pprof -raw "$prof" 2>/dev/null | sed -n 's/^Period: //p')" 65536 "profile period is the rate, 65536"
	est=$(pprof_flat "$prof" inuse_space leak_many)
	within "$est" "$bytes" 10 "leak_many inuse_space estimate $est within 10% of $bytes"
	est=$(pprof_flat "$prof" alloc_space leak_many)
	within "$est" "$bytes" 10 "leak_many alloc_space estimate $est within 10% of $bytes"
	diag "leak_many inuse_objects estimate $(pprof_flat "$prof" inuse_objects leak_many), truth $objects (Go's per-stack average scaling under-counts mixed sizes)"
	is "$(pprof_flat "$prof" inuse_space churn_many)" 0 "churn_many inuse_space is 0"
	is "$(pprof_flat "$prof" inuse_objects churn_many)" 0 "churn_many inuse_objects is 0"
	est=$(pprof_flat "$prof" alloc_space churn_many)
	within "$est" 41328644 20 "churn_many alloc_space estimate $est within 20% of 41328644"
	check_stacks "$prof" leak_many churn_many
fi

done_testing
