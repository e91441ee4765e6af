#!/bin/bash
# --max-overhead: the safety valve is on by default, its budget a share of
# one core (5 %) turned into allocation calls per second from a uprobe
# trap timed at start-up. A process calling its allocator flat out trips
# it with no option given: the warning names the budget in both terms, and
# while the probes are off the status line and the profile comment say so
# and why. --max-overhead off never trips; 50 % gives a budget about 50
# times 1 %'s; --max-call-rate wins over it; bad values are usage errors.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture call_burst-fp

# burst_run LABEL SECONDS ARGS...: call_burst bursting for SECONDS under
# heaptrace ARGS, then its known allocations; heaptrace exits with it.
burst_run() {
	local label=$1 secs=$2
	shift 2
	out=$T/out-$label
	err=$T/err-$label
	mkdir -p "$out"
	start_fixture call_burst-fp --wait || bail_out "fixture did not start"
	start_heaptrace "$err" -i 500ms -o "$out" "$@" -p "$FIX_PID" ||
		bail_out "heaptrace did not start"
	kill -USR1 "$FIX_PID"
	sleep "$secs"
	kill -USR1 "$FIX_PID"
	wait_for_line "$FIX_OUT" '^ready$' 20 2 "$FIX_PID"
	kill -USR1 "$FIX_PID"
	wait_exit "$FIX_PID" 20
	wait_exit "$HT_PID" 30
	is "$EXIT_STATUS" 0 "$label: heaptrace exits 0 with its target" || diag "$(tail -n 20 "$err")"
	prof=$(last_profile "$out" "$FIX_PID")
}

# budget_of ERRFILE: the calls/s of the budget its warning names.
budget_of() {
	sed -nE 's/.*over --max-overhead [0-9.]+% \(≈ ([0-9]+) calls\/s on this host\).*/\1/p' "$1" | head -n 1
}

# The default: on, 5 %. A long cool-down keeps the probes off to the end.
burst_run default 2.5 --cool-down 60s
pid=$FIX_PID
like "$(grep -m1 'over --max-overhead' "$err")" \
	"^heaptrace: warning: pid $pid \\(call_burst-fp\\): [0-9]+ allocation calls/s, over --max-overhead 5% \\(≈ [0-9]+ calls/s on this host\\): probes off for 60 s \\(the profiles say so\\)$" \
	"default: the valve trips, the warning names --max-overhead and its rate"
is "$(grep -c 'over --max-overhead' "$err")" 1 "default: said once"
rate=$(budget_of "$err")
tripped=$(sed -nE 's/.*: ([0-9]+) allocation calls\/s, over --max-overhead.*/\1/p' "$err")
ok "$([ "${rate:-0}" -gt 0 ] && [ "${tripped:-0}" -gt "$rate" ]; echo $?)" \
	"default: $tripped calls/s over a budget of $rate calls/s"
like "$(grep "^heaptrace: pid $pid (call_burst-fp): inuse" "$err" | tail -n 1)" \
	', [0-9]+ lost, probes off \(allocation calls over the 5% budget: [0-9]+/s\), back in [0-9]+ s$' \
	"default: the status line says the probes are off, why and until when"
comment=$(pprof -raw "$prof" 2>/dev/null | grep '^Comment: max-overhead')
like "$comment" \
	"^Comment: max-overhead: probes detached 1 time, [0-9.]+ s in all \\(now detached\\): allocation calls peaked at [0-9]+/s \\(over --max-overhead 5%: ≈ $rate calls/s on this host\\); calls in those periods are not counted and blocks freed then still count as in use$" \
	"default: the profile says the probes are off and why" || diag "$(pprof -raw "$prof" 2>&1 | grep Comment)"

# Off: the burst is traced in full, however long.
burst_run off 2.5 -r 1 --max-overhead off
is "$(grep -c 'probes off\|over --max-overhead\|exceed --max-call-rate' "$err")" 0 \
	"off: the valve never trips" || diag "$(grep 'probes off' "$err" | head -n 3)"
is "$(pprof -raw "$prof" 2>/dev/null | grep -c '^Comment: max-')" 0 "off: no valve comment"
pairs=$(sed -nE 's/^burst ([0-9]+)$/\1/p' "$FIX_OUT")
is "$(pprof_flat "$prof" alloc_objects burst)" "$pairs" "off: every burst call counted ($pairs)" ||
	diag "$(tail -n 5 "$err")"

# 50 % against 1 %: the budget scales with the share, both measured here.
burst_run one 3 --max-overhead 1% --cool-down 60s
one=$(budget_of "$err")
like "$(grep -m1 'over --max-overhead' "$err")" 'over --max-overhead 1% \(' "1%: trips"
burst_run fifty 3 --max-overhead 50% --cool-down 60s
fifty=$(budget_of "$err")
ok "$([ "${one:-0}" -gt 0 ] && [ "${fifty:-0}" -ge $((30 * one)) ] && [ "$fifty" -le $((70 * one)) ]; echo $?)" \
	"50%: a budget about 50 times 1%'s ($fifty against $one calls/s)"
grep -q 'over --max-overhead 50% (' "$err" &&
	like "$(grep "inuse" "$err" | tail -n 1)" 'over the 50% budget' "50%: the status line names 50%"

# --max-call-rate wins, with one warning saying so.
burst_run both 3 --max-call-rate 1000 --max-overhead 5% --cool-down 60s
like "$(grep -m1 'both --max-call-rate' "$err")" \
	'^heaptrace: warning: both --max-call-rate and --max-overhead given: the budget is --max-call-rate 1000; give only one of them$' \
	"both: one line says --max-call-rate wins"
like "$(grep -m1 'probes off for' "$err")" 'exceed --max-call-rate 1000: probes off for 60 s' \
	"both: the valve judges by --max-call-rate"

# Bad values: one line, exit 2, before anything is loaded.
for v in 200% abc -1 100.5 5%%; do
	run_bounded 20 "$HEAPTRACE" --max-overhead "$v" -p 1 >"$T/bad.out" 2>"$T/bad.err"
	is "$?" 2 "--max-overhead $v: exit 2"
	is "$(wc -l <"$T/bad.err")" 1 "--max-overhead $v: one line"
	like "$(cat "$T/bad.err")" \
		"^heaptrace: error: invalid share '$v' for --max-overhead: give a percentage of one core from 0 to 100, such as 5% or 0.5%, or off$" \
		"--max-overhead $v: the line names the problem and the fix"
done

done_testing
