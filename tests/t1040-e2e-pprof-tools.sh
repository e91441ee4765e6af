#!/bin/bash
# The written files work with `go tool pprof` the way a Go heap profile
# does: -top, -traces, -list (source lines from the DWARF file:line in the
# profile) and -base between two dumps of one run. alloc_known runs its
# table three times, a second apart, under --interval 500ms, so early and
# late dumps differ by whole rounds; -base must show exactly the difference.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

out=$T/out
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -i 500ms -o "$out" -- "$FIXTURES/alloc_known-fp" --repeat 3 --hold 1 \
	>"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace -i 500ms -- alloc_known-fp --repeat 3 --hold 1 exits 0" || diag "$(cat "$T/err")"

mapfile -t files < <(profiles_of "$out")
ok "$([ ${#files[@]} -ge 3 ]; echo $?)" "several dumps written at 500ms (${#files[@]})"
[ ${#files[@]} -ge 1 ] || done_testing
first=${files[0]}
last=${files[${#files[@]}-1]}
like "$(basename "$first")" '^alloc_known-fp\.[0-9]+\.[0-9]{8}T[0-9]{6}\.[0-9]{3}Z\.heap\.pb\.gz$' \
	"interval under 1 s: file names carry milliseconds"
bad=0
for f in "${files[@]}"; do
	[[ "$(basename "$f")" =~ $PROFILE_RE ]] || bad=1
done
ok $bad "every file name matches <comm>.<pid>.<time>.heap.pb.gz"
is "$(ls "$out" | grep -vcE "$PROFILE_RE")" 0 "no temporary or stray files left in the output dir"

# -top
pprof -top -sample_index=inuse_space "$last" >"$T/top" 2>"$T/top.err"
is $? 0 "go tool pprof -top reads the last dump" || diag "$(cat "$T/top.err")"
like "$(grep '^Type:' "$T/top")" '^Type: inuse_space$' "-top: Type: inuse_space"
like "$(grep -c ' leak_malloc$' "$T/top")" '^1$' "-top lists leak_malloc"
is "$(pprof_flat "$last" inuse_space leak_malloc)" 30000 "last dump: leak_malloc holds 3 rounds (30000 bytes)"
is "$(pprof_flat "$last" alloc_objects churn)" 3000 "last dump: churn allocated 3 x 1000 objects"
is "$(pprof_flat "$last" inuse_space churn)" 0 "last dump: churn holds nothing"
pprof -top -sample_index=inuse_space "$first" >/dev/null 2>&1
is $? 0 "go tool pprof -top reads the first dump"

# -traces
pprof -traces -sample_index=alloc_space "$last" >"$T/traces" 2>"$T/traces.err"
is $? 0 "go tool pprof -traces" || diag "$(cat "$T/traces.err")"
like "$(grep -A1 -E '^ +[^ ]+ +leak_posix_memalign$' "$T/traces" | tail -n 1 | xargs)" '^main$' \
	"-traces: leak_posix_memalign is called from main"
check_stacks "$last" leak_malloc leak_calloc grow_realloc leak_posix_memalign churn

# -list, run from the source tree as a developer would.
(cd "$TOPDIR" && pprof -list '^leak_malloc$' -sample_index=inuse_space -unit=B "$last") >"$T/list" 2>"$T/list.err"
is $? 0 "go tool pprof -list leak_malloc" || diag "$(cat "$T/list.err")"
like "$(grep -m1 ROUTINE "$T/list")" 'ROUTINE =+ leak_malloc in .*tests/fixtures/known_allocs\.h$' \
	"-list: routine leak_malloc in tests/fixtures/known_allocs.h"
like "$(grep -F 'malloc(1000)' "$T/list" | head -n 1)" '^ *30000B +30000B +[0-9]+:.*keep\(malloc\(1000\)\);' \
	"-list: the source line keep(malloc(1000)) carries 30000 bytes" ||
	{ diag "$(cat "$T/list")"; diag "$(pprof -raw "$last" 2>/dev/null | grep leak_malloc)"; }

# -list from an unrelated directory: the source is found only when the
# profile records the file's absolute path (DWARF comp_dir + name), as Go's
# profiles do.
(cd "$T" && pprof -list '^leak_malloc$' -sample_index=inuse_space -unit=B "$last") >"$T/list2" 2>&1
like "$(grep -F 'malloc(1000)' "$T/list2" | head -n 1)" '^ *30000B +30000B +[0-9]+:.*keep\(malloc\(1000\)\);' \
	"-list from another directory finds the source through the absolute path in the profile" ||
	diag "file recorded: $(pprof -raw "$last" 2>/dev/null | grep -m1 ' leak_malloc ' | awk '{print $5}')"

# -base first last: exactly what happened in between.
rounds_first=$(( $(pprof_flat "$first" alloc_objects leak_malloc) / 10 ))
ok "$([ "$rounds_first" -lt 3 ]; echo $?)" "the first dump predates the last round ($rounds_first rounds)"
d=$((3 - rounds_first))
pprof -top -sample_index=inuse_space -base "$first" "$last" >"$T/base" 2>"$T/base.err"
is $? 0 "go tool pprof -base first last" || diag "$(cat "$T/base.err")"
is "$(pprof_flat "$last" inuse_space leak_malloc -base "$first")" $((d * 10000)) "-base: leak_malloc grew by $d x 10000 bytes"
is "$(pprof_flat "$last" inuse_objects leak_calloc -base "$first")" $((d * 5)) "-base: leak_calloc grew by $d x 5 objects"
is "$(pprof_flat "$last" inuse_space grow_realloc -base "$first")" $((d * 3000)) "-base: grow_realloc grew by $d x 3000 bytes"
is "$(pprof_flat "$last" alloc_space churn -base "$first")" $((d * 95020)) "-base: churn allocated $d x 95020 bytes"
is "$(pprof_flat "$last" inuse_space churn -base "$first")" 0 "-base: churn in-use unchanged (0)"
is "$(pprof_flat "$last" inuse_space leak_malloc -base "$last")" 0 "-base of a dump against itself is empty"

done_testing
