#!/bin/bash
# Four threads allocating at the same moment: per-thread state (sampling
# budget, in-flight calls, realloc's old block) never mixes threads, and a
# block freed by another thread than its malloc's is seen freed, so at
# -r 1 the totals are exact, in both unwinding modes and for builds with and
# without frame pointers (the table is in tests/fixtures/threads.c). The
# calls themselves are counted per CPU (HT_CALL_SLOTS): the total over the
# CPUs the threads ran on is every call, no more.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture threads-fp threads-nofp

THREADS_TABLE='
thread_leak    2000  512000  2000 512000
thread_churn   2000  128000     0      0
thread_grow    2000 8016000     4  32000
thread_handoff 2000  256000     0      0
'

for fixture in threads-fp threads-nofp; do
	for mode in fp dwarf; do
		[ "$fixture/$mode" = threads-nofp/fp ] && continue # fp mode needs frame pointers
		out=$T/out-$fixture-$mode
		mkdir -p "$out"
		# 8000 stack copies in a burst from four threads: room for all of them even when
		# heaptrace runs slowly (the sanitizer build), so that nothing is lost.
		run_bounded 60 "$HEAPTRACE" -v -r 1 --unwind "$mode" --ring-size 256m -o "$out" -- \
			"$FIXTURES/$fixture" >"$T/stdout" 2>"$T/err"
		is $? 0 "$fixture --unwind $mode: heaptrace exits 0" || diag "$(cat "$T/err")"
		like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" ' 0 lost$' \
			"$fixture --unwind $mode: nothing lost"
		# 8000 calls by the threads' code, a few more by libc for each new thread (its TLS).
		calls=$(sed -nE 's/^heaptrace: pid [0-9]+: ([0-9]+) allocation calls seen, ([0-9]+) .*/\1 \2/p' \
			"$T/err" | tail -n 1)
		ok "$([ "${calls% *}" -ge 8000 ] && [ "${calls% *}" -le 8020 ]; echo $?)" \
			"$fixture --unwind $mode: every call counted once ($calls)"
		# 2000 churned blocks, 4 x 499 blocks that realloc moved, 2000 handed over.
		is "${calls#* }" 5996 "$fixture --unwind $mode: every tracked block's free seen"
		prof=$(last_profile "$out")
		assert_table "$prof" "$THREADS_TABLE" "$fixture --unwind $mode: "
		check_stacks "$prof" --leaf-only thread_leak thread_churn thread_grow thread_handoff
		is "$(pprof_traces "$prof" alloc_objects | cut -f2 | grep -E '^thread_' |
			grep -vc ';worker;')" 0 "$fixture --unwind $mode: every thread stack goes through worker"
	done
done

done_testing
