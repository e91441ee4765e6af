#!/bin/bash
# --follow-forks under a fork storm: 300 children, 100 a second, each living
# 50 ms. Every child is either followed or counted as missed (the parent's
# status line and profile comment: followed + missed = forked, the kernel's
# count; each followed child said "tracing pid"); none is an "error:", and
# the misses are said in one warning, not one per child. A parent without
# sampled live blocks makes no walk of the live map at a fork, so its
# fork() stays within a few milliseconds (figures in the diagnostics, with
# and without heaptrace; at -r 1 the parent's 500 live blocks are walked
# for).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture fork_storm-nofp

N=300
run_bounded 60 "$FIXTURES/fork_storm-nofp" $N 100 50 >"$T/native.out" 2>&1
native=$(sed -n 's/^forked [0-9]*, fork() \([0-9.]*\) us.*/\1/p' "$T/native.out")
ok "$([ -n "$native" ]; echo $?)" "untraced: $(cat "$T/native.out")"

for r in 524288 1; do
	out=$T/out-$r
	mkdir -p "$out"
	start_fixture fork_storm-nofp $N 100 50 --wait || bail_out "fork_storm did not start"
	parent=$FIX_PID
	start_heaptrace "$T/err-$r" -p "$parent" --follow-forks -r $r -o "$out" ||
		bail_out "heaptrace did not attach"
	kill -USR1 "$parent"
	wait_exit "$parent" 60
	is "$EXIT_STATUS" 0 "-r $r: fork_storm ran to its end"
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "-r $r: heaptrace exits 0 once the parent and its children are gone"
	traced=$(sed -n 's/^forked [0-9]*, fork() \([0-9.]*\) us.*/\1/p' "$FIX_OUT")
	diag "-r $r: $(tail -n 1 "$FIX_OUT") (untraced: $native us)"
	forked=$(sed -n 's/^forked \([0-9]*\),.*/\1/p' "$FIX_OUT")
	is "$forked" $N "-r $r: $N children forked"

	line=$(grep -E "pid $parent \(fork_storm-nofp\): inuse .*children: " "$T/err-$r" | tail -n 1)
	followed=$(sed -n 's/.*children: \([0-9]*\) followed, [0-9]* missed.*/\1/p' <<<"$line")
	missed=$(sed -n 's/.*children: [0-9]* followed, \([0-9]*\) missed.*/\1/p' <<<"$line")
	ok "$([ -n "$followed" ] && [ -n "$missed" ]; echo $?)" "-r $r: the parent's status line counts its children" ||
		diag "$(tail -n 5 "$T/err-$r")"
	is "$((${followed:-0} + ${missed:-0}))" "$forked" "-r $r: followed ($followed) + missed ($missed) = forked"
	children_traced=$(grep -cE '^heaptrace: tracing pid ' "$T/err-$r")
	ok "$([ $((children_traced - 1)) -ge "${followed:-1000000}" ]; echo $?)" \
		"-r $r: a 'tracing pid' line for each followed child ($((children_traced - 1)) for $followed)"
	is "$(grep -c 'error:' "$T/err-$r")" 0 "-r $r: no error lines" ||
		diag "$(grep 'error:' "$T/err-$r" | head -n 3)"
	warnings=$(grep -c 'warning:' "$T/err-$r")
	ok "$([ "$warnings" -le 1 ]; echo $?)" "-r $r: at most one warning ($warnings)" ||
		diag "$(grep 'warning:' "$T/err-$r" | head -n 3)"
	if [ "${missed:-0}" -gt 0 ]; then
		like "$(grep 'warning:' "$T/err-$r")" "ended before its probes were attached: such children are counted as missed" \
			"-r $r: the one warning says what a miss is"
	fi
	prof=$(last_profile "$out" "$parent")
	like "$(go tool pprof -comments "$prof" 2>/dev/null)" "children: $followed followed, $missed missed" \
		"-r $r: the parent's final profile carries the same figures"
	if [ $r = 524288 ]; then
		# No sampled live blocks in the parent (its 100 KB kept are under one
		# sample's worth): no walk of the 1M-bucket live map at its forks.
		ok "$(awk -v t="$traced" 'BEGIN { exit !(t < 5000) }'; echo $?)" \
			"-r $r: fork() takes ${traced} us traced, under 5 ms (no walk of the live map)"
	fi
done

done_testing
