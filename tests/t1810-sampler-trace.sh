#!/bin/bash
# The in-process sampled path: processes that carry otel_memory USDT probes
# are traced through them (--probes auto), only sampled calls trap, and the
# profiles are the uprobe path's: exact per function at -r 1 (heaptrace's
# own sampler under --preload, in both unwinding modes, C and C++, threads
# freeing each other's blocks; a program with its own <sys/sdt.h> emitter),
# within 10 % at -r 65536, the sampler's and operator new's frames hidden
# at the leaf. --probes uprobes overrides the choice; --probes usdt refuses
# a process without the probes.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp alloc_cxx-fp threads-nofp leak_big-fp \
	otel_emitter-fp otel_emitter-nofp dlopen_alloc-fp dlopen_alloc-nofp signal_alloc-nofp
SAMPLER=$BUILD/libheaptrace-sampler.so
[ -f "$SAMPLER" ] || bail_out "$SAMPLER is not built (make)"

SAMPLER_RE='in-process sampler \(otel_memory USDT\), 2 probes on .*: only sampled calls trap'
THREADS_TABLE='
thread_leak    2000  512000  2000 512000
thread_churn   2000  128000     0      0
thread_grow    2000 8016000     4  32000
thread_handoff 2000  256000     0      0
'
EMITTER_TABLE='
emit_leak     5   5000  5 5000
emit_churn  100   6400  0    0
'

# traced LABEL TABLE ARGS...: heaptrace ARGS at -r 1 into a fresh directory; exact TABLE.
traced() {
	local label=$1 table=$2 out=$T/out-$((++RUNS)) prof
	shift 2
	mkdir -p "$out"
	run_bounded 120 "$HEAPTRACE" -r 1 -o "$out" "$@" >"$T/stdout" 2>"$T/err"
	is $? 0 "$label: heaptrace exits 0" || diag "$(tail -n 20 "$T/err")"
	like "$(grep -m1 'tracing pid' "$T/err")" "$SAMPLER_RE" "$label: traced through the sampler"
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" ' 0 lost$' "$label: nothing lost"
	prof=$(last_profile "$out")
	like "$(pprof -raw "$prof" 2>/dev/null | grep '^Comment: heaptrace')" \
		'sampled in the process \(otel_memory USDT\)' "$label: the profile says how it was sampled"
	assert_table "$prof" "$table" "$label: "
	PROF=$prof
}
RUNS=0

for mode in fp dwarf; do
	fixture=alloc_known-fp
	[ $mode = dwarf ] && fixture=alloc_known-nofp
	traced "--preload $fixture --unwind $mode" "$ALLOC_KNOWN_TABLE" --unwind $mode --preload -- \
		"$FIXTURES/$fixture"
	check_no_allocator_frames "$PROF"
done
traced "--preload alloc_cxx-fp" "$ALLOC_CXX_TABLE" --preload -- "$FIXTURES/alloc_cxx-fp"
check_no_allocator_frames "$PROF"
traced "--preload threads-nofp" "$THREADS_TABLE" --preload --ring-size 256m -- \
	"$FIXTURES/threads-nofp"

# A library loaded after the start, allocating in its constructor and its code.
DLOPEN_TABLE='
dlo_init     1   777  1  777
dlo_make     4  4936  4 4936
'
for mode in fp dwarf; do
	fixture=dlopen_alloc-fp
	[ $mode = dwarf ] && fixture=dlopen_alloc-nofp
	traced "--preload $fixture --unwind $mode (dlopen)" "$DLOPEN_TABLE" --unwind $mode --preload -- \
		"$FIXTURES/$fixture" "$BUILD/preload/libsampler-dlo.so"
done

# Allocations from a signal handler (run outside the allocator), and between the signals.
SIGNAL_TABLE='
on_signal   6  1926  6 1926
between     6   738  0    0
'
traced "--preload signal_alloc-nofp (a signal handler)" "$SIGNAL_TABLE" --preload -- \
	"$FIXTURES/signal_alloc-nofp"

# A program with its own emitter: the probes are in the executable itself.
for fixture in otel_emitter-fp otel_emitter-nofp; do
	traced "$fixture (its own emitter)" "$EMITTER_TABLE" -- "$FIXTURES/$fixture"
	is "$(pprof_flat "$PROF" alloc_space plain_leak)" 0 \
		"$fixture: what its emitter does not sample is not seen"
done

# --probes uprobes: the allocator's entry points, whatever the process carries.
out=$T/out-uprobes
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 --probes uprobes -o "$out" -- "$FIXTURES/otel_emitter-fp" \
	>"$T/stdout" 2>"$T/err"
is $? 0 "--probes uprobes: heaptrace exits 0"
like "$(grep -m1 'tracing pid' "$T/err")" 'allocator, [0-9]+ probes on ' \
	"--probes uprobes: the allocator's entry points are probed"
is "$(pprof_flat "$(last_profile "$out")" alloc_space plain_leak)" 2100 \
	"--probes uprobes: every malloc is seen (plain_leak 3 x 700)"

# --probes usdt on a process without them: one line, exit 1.
run_bounded 60 "$HEAPTRACE" -r 1 --probes usdt -o "$T" -- "$FIXTURES/alloc_known-fp" \
	>"$T/stdout" 2>"$T/err"
is $? 1 "--probes usdt without probes: exit 1"
like "$(grep -m1 'error' "$T/err")" \
	"^heaptrace: error: no otel_memory USDT probes in pid [0-9]+ \\(alloc_known-fp\\): start it with the sampler" \
	"--probes usdt without probes: the error says what to do"

# A running process started with the sampler, attached with -p: chosen automatically.
start_fixture_env() {
	local out
	out=$(mktemp "$T/fix.XXXXXX.out")
	env --default-signal=INT,TERM LD_PRELOAD="$SAMPLER" HEAPTRACE_SAMPLE_RATE=1 "$@" \
		>"$out" 2>"$out.err" &
	FIX_PID=$!
	track_pid "$FIX_PID"
	wait_for_line "$out" '^ready$' 20 1 "$FIX_PID"
}
start_fixture_env "$FIXTURES/alloc_known-nofp" --wait --hold 1 || bail_out "fixture did not start"
mkdir -p "$T/out-p"
start_heaptrace "$T/err-p" -r 1 -o "$T/out-p" -p "$FIX_PID" || bail_out "heaptrace did not start"
like "$(grep -m1 'tracing pid' "$T/err-p")" "$SAMPLER_RE" "-p: a process with the sampler is traced through it"
kill -USR1 "$FIX_PID"
wait_exit "$FIX_PID" 20
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "-p: heaptrace exits 0 with its target"
assert_table "$(last_profile "$T/out-p")" "$ALLOC_KNOWN_TABLE" "-p, sampler started with the process: "

# The estimate at -r 65536 (the sampler's own Poisson draws): within 10 %, as the uprobe path.
out=$T/out-est
mkdir -p "$out"
run_bounded 120 "$HEAPTRACE" -r 65536 --preload -o "$out" -- "$FIXTURES/leak_big-fp" \
	>"$T/stdout" 2>"$T/err"
is $? 0 "--preload -r 65536 -- leak_big-fp exits 0" || diag "$(tail -n 20 "$T/err")"
read -r word bytes objects <"$T/stdout"
is "$bytes" 60051774 "leak_big leaked its known 60051774 bytes"
prof=$(last_profile "$out")
is "$(pprof -raw "$prof" 2>/dev/null | sed -n 's/^Period: //p')" 65536 \
	"the period is the sampler's rate, found from its weights"
within "$(pprof_flat "$prof" inuse_space leak_many)" "$bytes" 10 \
	"--preload -r 65536: leak_many's in-use within 10 % of $bytes"
within "$(pprof_flat "$prof" alloc_space churn_many)" 41328644 20 \
	"--preload -r 65536: churn_many's allocated bytes within 20 % of 41328644"

done_testing
