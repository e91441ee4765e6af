#!/bin/bash
# --follow-forks under a fork storm: 300 children, 100 a second, each living
# 50 ms. Every child is either followed or counted as missed (the parent's
# status line and profile comment: followed + missed = forked, the kernel's
# count; each followed child said "tracing pid"); none is an "error:", and
# the misses are said in one warning, not one per child. A fork costs what
# the parent's own sampled blocks cost, whatever other processes hold: at
# the default rate the parent has none and nothing is copied; at -r 1 its
# 500 blocks are copied to each child, also in frame-pointer mode beside a
# traced process holding 32768 more (the old copy walked every bucket of
# the live map, tens of milliseconds per fork). fork() stays under 5 ms
# (figures in the diagnostics, with and without heaptrace).
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture fork_storm-nofp fork_storm-fp many_stacks-fp

N=300
run_bounded 60 "$FIXTURES/fork_storm-nofp" $N 100 50 >"$T/native.out" 2>&1
native=$(sed -n 's/^forked [0-9]*, fork() \([0-9.]*\) us.*/\1/p' "$T/native.out")
ok "$([ -n "$native" ]; echo $?)" "untraced: $(cat "$T/native.out")"

HOLD=32768
for cfg in "524288 dwarf" "1 dwarf" "1 fp"; do
	read -r r unwind <<<"$cfg"
	fixture=fork_storm-nofp
	[ "$unwind" = fp ] && fixture=fork_storm-fp
	out=$T/out-$r-$unwind
	mkdir -p "$out"
	holder=()
	interval=()
	if [ "$unwind" = fp ]; then
		interval=(-i 1s)
		start_fixture many_stacks-fp $HOLD 600 --wait || bail_out "many_stacks did not start"
		hold_pid=$FIX_PID
		hold_out=$FIX_OUT
		holder=(-p "$hold_pid")
	fi
	start_fixture $fixture $N 100 50 --wait || bail_out "fork_storm did not start"
	parent=$FIX_PID
	# --write-empty: at the default rate the parent may have no sample, and its final
	# profile is where the children's figures are checked.
	start_heaptrace "$T/err-$r-$unwind" -p "$parent" "${holder[@]}" --follow-forks --write-empty \
		"${interval[@]}" -r $r --unwind "$unwind" -o "$out" || bail_out "heaptrace did not attach"
	if [ "$unwind" = fp ]; then
		kill -USR1 "$hold_pid"
		wait_for_line "$hold_out" '^done$' 30 1 "$hold_pid" || bail_out "many_stacks did not allocate"
	fi
	kill -USR1 "$parent"
	wait_exit "$parent" 60
	is "$EXIT_STATUS" 0 "-r $r $unwind: fork_storm ran to its end"
	parent_end=$(date +%s.%N)
	if [ "$unwind" = fp ]; then
		kill -TERM "$hold_pid"
		wait_exit "$hold_pid" 10
	fi
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "-r $r $unwind: heaptrace exits 0 once the parent and its children are gone"
	# The links of the followed children go then, released in parallel (collect/linkreap.h).
	diag "-r $r $unwind: heaptrace ended $(awk -v a="$parent_end" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s after the parent"
	traced=$(sed -n 's/^forked [0-9]*, fork() \([0-9.]*\) us.*/\1/p' "$FIX_OUT")
	diag "-r $r $unwind: $(tail -n 1 "$FIX_OUT") (untraced: $native us)"
	forked=$(sed -n 's/^forked \([0-9]*\),.*/\1/p' "$FIX_OUT")
	is "$forked" $N "-r $r $unwind: $N children forked"

	line=$(grep -E "pid $parent \($fixture\): inuse .*children: " "$T/err-$r-$unwind" | tail -n 1)
	followed=$(sed -n 's/.*children: \([0-9]*\) followed, [0-9]* missed.*/\1/p' <<<"$line")
	missed=$(sed -n 's/.*children: [0-9]* followed, \([0-9]*\) missed.*/\1/p' <<<"$line")
	ok "$([ -n "$followed" ] && [ -n "$missed" ]; echo $?)" "-r $r $unwind: the parent's status line counts its children" ||
		diag "$(tail -n 5 "$T/err-$r-$unwind")"
	is "$((${followed:-0} + ${missed:-0}))" "$forked" "-r $r $unwind: followed ($followed) + missed ($missed) = forked"
	# The parent's and the holder's own lines are not a child's.
	children_traced=$(($(grep -cE '^heaptrace: tracing pid ' "$T/err-$r-$unwind") - 1 - ${#holder[@]} / 2))
	ok "$([ $children_traced -ge "${followed:-1000000}" ]; echo $?)" \
		"-r $r $unwind: a 'tracing pid' line for each followed child ($children_traced for $followed)"
	is "$(grep -c 'error:' "$T/err-$r-$unwind")" 0 "-r $r $unwind: no error lines" ||
		diag "$(grep 'error:' "$T/err-$r-$unwind" | head -n 3)"
	warnings=$(grep -c 'warning:' "$T/err-$r-$unwind")
	ok "$([ "$warnings" -le 1 ]; echo $?)" "-r $r $unwind: at most one warning ($warnings)" ||
		diag "$(grep 'warning:' "$T/err-$r-$unwind" | head -n 3)"
	if [ "${missed:-0}" -gt 0 ]; then
		like "$(grep 'warning:' "$T/err-$r-$unwind")" "ended before its probes were attached: such children are counted as missed" \
			"-r $r $unwind: the one warning says what a miss is"
	fi
	prof=$(last_profile "$out" "$parent")
	like "$(go tool pprof -comments "$prof" 2>/dev/null)" "children: $followed followed, $missed missed" \
		"-r $r $unwind: the parent's final profile carries the same figures"
	if [ "$unwind" = fp ]; then
		is "$(pprof_flat "$(last_profile "$out" "$hold_pid")" inuse_objects leaf)" $HOLD \
			"-r $r $unwind: the other traced process held its $HOLD blocks through the storm"
		# Dumps of several processes in one round read each one's blocks by its slots.
		untagged=0
		for f in $(profiles_of "$out" "$hold_pid"); do
			pprof -tags "$f" 2>/dev/null | grep -q '^ *age:' || untagged=$((untagged + 1))
		done
		is $untagged 0 "-r $r $unwind: each of the holder's profiles is split by age"
	fi
	if [ "$r" = 524288 ]; then
		# Attaching does not wait behind the release of ended children's probes,
		# nor plan each child afresh: once 12 of 300 were followed here.
		ok "$([ "${followed:-0}" -ge $((N / 10)) ]; echo $?)" \
			"-r $r $unwind: at least a tenth of the children followed ($followed of $N)"
	fi
	ok "$(awk -v t="$traced" 'BEGIN { exit !(t < 5000) }'; echo $?)" \
		"-r $r $unwind: fork() takes ${traced} us traced, under 5 ms"
done

done_testing
