#!/bin/bash
# Full maps lose data visibly, never silently: with tiny --max-stacks and
# --max-live the status line and the profile's comment report the losses,
# and what is reported stays consistent (in-use never exceeds allocated).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

out=$T/out
mkdir -p "$out"

# alloc_known makes ~1030 allocations from ~12 distinct stacks.
run_bounded 60 "$HEAPTRACE" -r 1 --max-stacks 4 -o "$out" -- "$FIXTURES/alloc_known-fp" \
	>"$T/stdout" 2>"$T/stderr"
is "$?" 0 "--max-stacks 4: heaptrace exits 0"
status=$(grep -E 'pid [0-9]+ \(alloc_known-fp\): inuse' "$T/stderr" | tail -n 1)
lost=$(sed -nE 's/.* ([0-9]+) lost$/\1/p' <<<"$status")
ok "$([ "${lost:-0}" -gt 0 ]; echo $?)" "--max-stacks 4: the status line reports lost samples ($status)"
prof=$(last_profile "$out")
comment=$(pprof -raw "$prof" 2>/dev/null | grep -m1 'heaptrace .*lost')
like "$comment" " ${lost} lost" "--max-stacks 4: the profile's comment carries the same count"
stacks=$(pprof -raw "$prof" 2>/dev/null | sed -n '/^Samples:/,/^Locations/p' | grep -cE '^ +[0-9]+ +[0-9]+ +[0-9]+ +[0-9]+:')
ok "$([ "$stacks" -le 4 ]; echo $?)" "--max-stacks 4: at most 4 stacks in the profile (got $stacks)"

rm -f "$out"/*
run_bounded 60 "$HEAPTRACE" -r 1 --max-live 8 -o "$out" -- "$FIXTURES/alloc_known-fp" \
	>"$T/stdout" 2>"$T/stderr"
is "$?" 0 "--max-live 8: heaptrace exits 0"
status=$(grep -E 'pid [0-9]+ \(alloc_known-fp\): inuse' "$T/stderr" | tail -n 1)
lost=$(sed -nE 's/.* ([0-9]+) lost$/\1/p' <<<"$status")
ok "$([ "${lost:-0}" -gt 0 ]; echo $?)" "--max-live 8: the status line reports lost blocks ($status)"
prof=$(last_profile "$out")
# Allocated totals stay exact; in-use only counts what could be tracked.
is "$(pprof_flat "$prof" alloc_space leak_malloc)" 10000 "--max-live 8: leak_malloc alloc_space still exact"
is "$(pprof_flat "$prof" alloc_objects churn)" 1000 "--max-live 8: churn alloc_objects still exact"
inuse=$(pprof_total "$prof" inuse_objects)
ok "$([ "$inuse" -le 8 ]; echo $?)" "--max-live 8: at most 8 objects in use (got $inuse)"

done_testing
