#!/bin/bash
# bench/run.sh - what heaptrace costs, measured side by side in one run.
#
# Runs a workload untraced and under heaptrace in several configurations,
# alternating them REPS times (the machine is noisy; medians are reported),
# and prints one table of ratios and of heaptrace's own cost:
#   wall      the workload's wall time (median of REPS), and traced/untraced
#   daemon    heaptrace's CPU seconds (user+system) and peak RSS, from -v;
#             start-up (BPF load, discovery, attach) apart from tracing, and
#             tracing as a share of one core over the run
#   samples   sampled allocations recorded, and tracing CPU per sample
# Workload: Debian's python3 (no frame pointers) building, serializing and
# dropping containers (bench/workloads/python_objects.py).
#
# Then the malloc/free microbenchmark (bench/mallocbench.c: THREADS threads
# each doing malloc(SIZE)/free pairs; it times its own loop) gives the cost
# of one pair untraced and under heaptrace, next to the probes' floor:
#   untraced    no probes
#   floor-entry empty BPF programs on each symbol's first instruction
#   floor       empty BPF programs at heaptrace's own probe sites (--floor):
#               with uprobe sessions, an entry run that arms no return
#   floor-pair  the same with a uprobe + uretprobe pair (--floor --no-session)
#   entry       heaptrace, default rate, probes on the symbols (--probe-at-entry)
#   default     heaptrace, default rate (512 KiB), uprobe sessions where the
#               kernel has them
#   classic     heaptrace, default rate, uprobe + uretprobe pairs (--no-session)
#   r1          heaptrace, every allocation sampled (-r 1)
#   heaptrack   heaptrack (LD_PRELOAD, records every call), where installed
#   massif      valgrind --tool=massif, where installed
# and the ratios of added cost (traced - untraced): default/floor,
# default/classic (sessions vs pairs), classic/floor-pair, default/entry
# (moved vs naive placement), floor/floor-entry, heaptrack/default and
# massif/default.
#
# redis: Debian's redis-server (jemalloc, no frame pointers) under
# redis-benchmark on loopback (SET and GET, 50 clients), a fresh server per
# run, untraced, under --floor, heaptrace at the default rate and at -r 1
# (attached with -p), at the default rate with --alloc-only, and under heaptrack (started by it: its -p attach
# needs gdb injection). Throughput ratios, and the tracer's own CPU over
# the benchmark window as a share of one core, and its peak RSS.
#
# dump: bench/deepstacks.c allocates 131072 blocks, each from a call path
# of its own; heaptrace -r 1 records them all and the final profile's dump
# (snapshot, symbolization, encoding, write) is timed, with --unwind fp and
# dwarf.
#
# compile: cc1plus -O2 on an STL-heavy file (untraced, default, --preload,
# heaptrack); filtered: an untraced process beside system-wide heaptrace,
# filtered and unfiltered.
#
# Usage: sudo bench/run.sh [REPS [python|micro|compile|filtered|redis|dump|all]]
# (default 3 all).
# Needs root, like heaptrace. All parts with 3 rounds take about 25 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
REPS=${1:-3}
PARTS=${2:-all}
HT=$BUILD/heaptrace
# Each run below gives --max-overhead off: the benchmark measures what tracing every call costs,
# which the safety valve (on by default) would cut short.
PY=/usr/bin/python3
# Long enough (about 7 s untraced) that heaptrace's fixed cost (BPF load, the
# command held at its start and at its exit for the final profile: about 0.5 s)
# is a small part of the run.
WORK=(bench/workloads/python_objects.py 600)

[ "$(id -u)" -eq 0 ] || { echo "bench: error: run as root (heaptrace loads BPF programs)" >&2; exit 1; }
make -s BUILD="$BUILD" "$HT" >/dev/null
T=$(mktemp -d /tmp/heaptrace-bench.XXXXXX)

CONFIGS=(untraced "fp:--unwind fp" "dwarf:--unwind dwarf" "fp-64k:--unwind fp -r 64k" "dwarf-64k:--unwind dwarf -r 64k"
	"sampler:--preload")

now_ns() { date +%s%N; }

# run_one NAME ARGS: appends "name wall_ms cpu_s rss_kib samples startup_s" to $T/results
run_one() {
	local name=$1 args=$2 t0 t1 err=$T/err out=$T/out
	rm -rf "$out"
	mkdir -p "$out"
	t0=$(now_ns)
	if [ "$name" = untraced ]; then
		"$PY" "${WORK[@]}" >/dev/null
		t1=$(now_ns)
		echo "$name $(((t1 - t0) / 1000000)) 0 0 0 0" >>"$T/results"
		return
	fi
	# shellcheck disable=SC2086
	"$HT" --max-overhead off -v $args -o "$out" -- "$PY" "${WORK[@]}" >/dev/null 2>"$err"
	t1=$(now_ns)
	local cpu rss samples startup
	cpu=$(sed -nE 's/.*own cost in all: ([0-9.]+) s CPU.*/\1/p' "$err")
	startup=$(sed -nE 's/.*own cost at start-up: ([0-9.]+) s CPU.*/\1/p' "$err")
	rss=$(sed -nE 's/.*own cost in all: .*peak RSS ([0-9]+) KiB.*/\1/p' "$err")
	samples=$(grep -E ': inuse .* samples' "$err" | tail -n 1 | sed -nE 's/.* ([0-9]+) samples.*/\1/p')
	echo "$name $(((t1 - t0) / 1000000)) ${cpu:-0} ${rss:-0} ${samples:-0} ${startup:-0}" >>"$T/results"
}

python_part() {
echo "bench: $(nproc) CPUs, $(uname -r), $REPS rounds of ${#CONFIGS[@]} configurations" >&2
for ((r = 1; r <= REPS; r++)); do
	for c in "${CONFIGS[@]}"; do
		name=${c%%:*}
		args=${c#*:}
		[ "$name" = untraced ] && args=
		run_one "$name" "$args"
	done
	echo "bench: round $r done" >&2
done

awk -v reps="$REPS" '
function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
{
	n[$1]++; k = n[$1]
	wall[$1, k] = $2; cpu[$1, k] = $3; rss[$1, k] = $4; smp[$1, k] = $5; st[$1, k] = $6
	if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 }
}
END {
	printf "%-10s %8s %7s %10s %10s %9s %8s %10s %8s\n", "config", "wall ms", "x untr.", "start-up s", "tracing s",
		"tracing %", "samples", "us/sample", "RSS MiB"
	for (i = 1; i <= no; i++) {
		c = order[i]
		for (k = 1; k <= n[c]; k++) {
			w[k] = wall[c, k]; u[k] = cpu[c, k] - st[c, k]; m[k] = rss[c, k]; s[k] = smp[c, k]; z[k] = st[c, k]
		}
		mw = median(w, n[c]); mu = median(u, n[c]); mm = median(m, n[c]); ms = median(s, n[c]); mz = median(z, n[c])
		if (c == "untraced") base = mw
		printf "%-10s %8d %7.2f %10.3f %10.3f %9.2f %8d %10s %8.1f\n", c, mw, mw / base, mz, mu,
			100 * mu / (mw / 1000), ms, ms ? sprintf("%.0f", 1e6 * mu / ms) : "-", mm / 1024
	}
}' "$T/results"
}
# The median, for the awk programs below: the machine is shared and noisy.
AWK_MEDIAN='function median(a, n,   i, j, t) {
	for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}'

MB=$BUILD/bench/mallocbench
MICRO_CONFIGS=(untraced "floor-entry:--floor --probe-at-entry" "floor:--floor"
	"floor-pair:--floor --no-session" "entry:--probe-at-entry" "default:" "classic:--no-session"
	"r1:-r 1" "sampler:--preload")
# Other tools, each only where installed.
command -v heaptrack >/dev/null && MICRO_CONFIGS+=("heaptrack:")
command -v valgrind >/dev/null && MICRO_CONFIGS+=("massif:")
# threads size pairs
# "new": C++ operator new/delete (libstdc++'s, which hands each request to malloc).
# Long loops: a tool's start-up (heaptrack's above all) must not pass for its cost per call.
MICRO_LOADS=("1 64 2000000" "1 4096 1000000" "1 65536 1000000" "$(nproc) 64 1000000"
	"1 64 1000000 new")
# MICRO_ONLY="untraced floor default sampler heaptrack" keeps only those configurations.
if [ -n "${MICRO_ONLY:-}" ]; then
	kept=()
	for c in "${MICRO_CONFIGS[@]}"; do
		case " $MICRO_ONLY " in *" ${c%%:*} "*) kept+=("$c") ;; esac
	done
	MICRO_CONFIGS=("${kept[@]}")
fi

micro_part() {
	mkdir -p "$BUILD/bench"
	cc -O2 -Wall -Wextra -Werror bench/mallocbench.c -o "$MB" -lpthread -lstdc++
	echo "bench: malloc/free pairs, $REPS rounds of ${#MICRO_CONFIGS[@]} configurations x ${#MICRO_LOADS[@]} loads" >&2
	local r c name args load ns
	: >"$T/micro"
	for ((r = 1; r <= REPS; r++)); do
		for load in "${MICRO_LOADS[@]}"; do
			for c in "${MICRO_CONFIGS[@]}"; do
				name=${c%%:*}
				args=${c#*:}
				rm -rf "$T/out" && mkdir -p "$T/out"
				# mallocbench times its own loop: start-up and the tools' output are not counted.
				# shellcheck disable=SC2086
				case "$name" in
				untraced) ns=$("$MB" $load | sed -n 's/^ns_per_pair //p') ;;
				heaptrack) ns=$(heaptrack -o "$T/out/ht" "$MB" $load 2>/dev/null | sed -n 's/^ns_per_pair //p') ;;
				massif) ns=$(valgrind -q --tool=massif --massif-out-file="$T/out/massif" "$MB" $load 2>/dev/null |
					sed -n 's/^ns_per_pair //p') ;;
				*) ns=$("$HT" --max-overhead off $args -o "$T/out" -- "$MB" $load 2>/dev/null | sed -n 's/^ns_per_pair //p') ;;
				esac
				echo "${load// /\/} $name ${ns:-0}" >>"$T/micro"
			done
		done
		echo "bench: micro round $r done" >&2
	done
	awk -v cfgs="${MICRO_CONFIGS[*]}" "$AWK_MEDIAN"'
	function ratio(a, b) { return (b in m) && (a in m) && m[b] != m["untraced"] ? sprintf("%.2f", (m[a] - m["untraced"]) / (m[b] - m["untraced"])) : "-" }
	function times(a, b) { return (b in m) && (a in m) && m[b] > 0 ? sprintf("%.2f", m[a] / m[b]) : "-" }
	{
		k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $3
		if (!($1 in seen)) { seen[$1] = 1; loads[++nl] = $1 }
		if (!($2 in cseen)) { cseen[$2] = 1; order[++nc] = $2 }
	}
	END {
		printf "%-16s", "thr/size/pairs"
		for (i = 1; i <= nc; i++) printf " %11s", order[i]
		printf " %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", "dflt/flr", "dflt/cls", "cls/flr-p", "dflt/ent", "flr/flr-e",
			"htk/dflt", "msf/dflt", "smp/untr", "dflt/smp"
		for (l = 1; l <= nl; l++) {
			printf "%-16s", loads[l]
			delete m
			for (i = 1; i <= nc; i++) {
				k = loads[l] SUBSEP order[i]
				for (j = 1; j <= n[k]; j++) a[j] = v[k, j]
				m[order[i]] = median(a, n[k])
				printf " %11.1f", m[order[i]]
			}
			printf " %9s %9s %9s %9s %9s %9s %9s %9s %9s\n", ratio("default", "floor"),
				ratio("default", "classic"), ratio("classic", "floor-pair"), ratio("default", "entry"),
				ratio("floor", "floor-entry"), ratio("heaptrack", "default"), ratio("massif", "default"),
				times("sampler", "untraced"), times("default", "sampler")
		}
		print "(ns per malloc+free pair per thread, median; ratios of added cost over untraced;"
		print " smp/untr and dflt/smp: plain ratios of the times)"
	}' "$T/micro"
}

# Requests per redis-benchmark test; about 1.3 s per test untraced here.
REDIS_N=${REDIS_N:-100000}
# alloc-only: without the probe on free (jemalloc's cannot be moved off its first instruction).
# sampler: the server started with libheaptrace-sampler.so, heaptrace attached through its probes.
REDIS_CONFIGS=(untraced "floor:--floor" "default:" "alloc-only:--alloc-only" "r1:-r 1" "sampler:")
command -v heaptrack >/dev/null && REDIS_CONFIGS+=("heaptrack:")
BG_PIDS=()

# cpu_ns PID: CPU time of all of PID's threads in ns (schedstat: finer than stat's ticks,
# which round the daemon's few milliseconds at the default rate to 0).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%d\n", t }'
}

# wait_for FILE PATTERN PID: until PATTERN is in FILE (30 s), while PID lives.
wait_for() {
	local i
	for ((i = 0; i < 300; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# redis_one NAME ARGS: one fresh server, one benchmark; appends
# "name set_rps get_rps tracer_cpu_s bench_wall_s tracer_rss_kib" to $T/redis.
redis_one() {
	local name=$1 args=$2 port srv ht='' daemon='' c0=0 c1=0 t0 t1 rss=0 set get i
	port=$((20000 + RANDOM % 20000))
	rm -rf "$T/out" && mkdir -p "$T/out"
	local server=(redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no
		--daemonize no --dir "$T/out")
	if [ "$name" = heaptrack ]; then
		# heaptrack's own work is done by heaptrack_interpret, its child.
		heaptrack -o "$T/out/ht" "${server[@]}" >"$T/htk.log" 2>&1 &
	elif [ "$name" = sampler ]; then
		LD_PRELOAD=$(realpath "$BUILD/libheaptrace-sampler.so") "${server[@]}" >"$T/redis.log" 2>&1 &
	else
		"${server[@]}" >"$T/redis.log" 2>&1 &
	fi
	srv=$!
	BG_PIDS+=("$srv")
	for ((i = 0; i < 100; i++)); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
	case "$name" in
	untraced) ;;
	heaptrack) daemon=$(pgrep -n -f libexec/heaptrack_interpret) ;;
	*)
		# A background job of a script starts with SIGINT ignored: restore it for the stop below.
		# shellcheck disable=SC2086
		env --default-signal=INT,TERM "$HT" --max-overhead off -v $args -p "$srv" -o "$T/out" >/dev/null 2>"$T/ht.err" &
		ht=$!
		BG_PIDS+=("$ht")
		wait_for "$T/ht.err" 'tracing pid' "$ht" || { cat "$T/ht.err" >&2; exit 1; }
		daemon=$ht
		;;
	esac
	if [ -n "$daemon" ]; then
		c0=$(cpu_ns "$daemon")
	fi
	t0=$(now_ns)
	redis-benchmark -h 127.0.0.1 -p "$port" -t set,get -n "$REDIS_N" -r 100000 -d 256 -c 50 -P 1 \
		-q --csv >"$T/bench.csv" 2>/dev/null
	t1=$(now_ns)
	if [ -n "$daemon" ]; then
		c1=$(cpu_ns "$daemon")
		rss=$(awk '/^VmHWM/ { print $2 }' "/proc/$daemon/status")
	fi
	if [ -n "$ht" ]; then
		kill -INT "$ht"
		wait "$ht" || true
		# The whole run's peak, the final profile included.
		rss=$(sed -nE 's/.*own cost in all: .*peak RSS ([0-9]+) KiB.*/\1/p' "$T/ht.err")
	fi
	redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
	wait "$srv" || true
	BG_PIDS=()
	set=$(awk -F'"' '$2 == "SET" { print $4 }' "$T/bench.csv")
	get=$(awk -F'"' '$2 == "GET" { print $4 }' "$T/bench.csv")
	echo "$name ${set:-0} ${get:-0} $(awk -v c=$((c1 - c0)) 'BEGIN { print c / 1e9 }') \
$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1e9 }') ${rss:-0}" >>"$T/redis"
}

redis_part() {
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
		echo "bench: redis-server or redis-benchmark missing: redis part skipped" >&2
		return 0
	fi
	echo "bench: redis-server under redis-benchmark, $REPS rounds of ${#REDIS_CONFIGS[@]} configurations" >&2
	local r c
	: >"$T/redis"
	for ((r = 1; r <= REPS; r++)); do
		for c in "${REDIS_CONFIGS[@]}"; do
			redis_one "${c%%:*}" "${c#*:}"
		done
		echo "bench: redis round $r done" >&2
	done
	awk "$AWK_MEDIAN"'
	{
		n[$1]++; k = n[$1]
		# Both tests together: requests over the time they took.
		tp[$1, k] = 2 / (1 / $2 + 1 / $3); st[$1, k] = $2; gt[$1, k] = $3
		cpu[$1, k] = $4; pct[$1, k] = 100 * $4 / $5; rss[$1, k] = $6
		if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 }
	}
	END {
		printf "%-10s %9s %9s %9s %8s %8s %9s %9s %8s\n", "config", "SET/s", "GET/s", "req/s", "x untr.",
			"x floor", "CPU s", "% of core", "RSS MiB"
		for (i = 1; i <= no; i++) {
			c = order[i]
			for (k = 1; k <= n[c]; k++) { a[k] = tp[c, k]; s[k] = st[c, k]; g[k] = gt[c, k]; u[k] = cpu[c, k]; p[k] = pct[c, k]; m[k] = rss[c, k] }
			mt[c] = median(a, n[c])
			printf "%-10s %9.0f %9.0f %9.0f %8.2f %8s %9.3f %9.2f %8.1f\n", c, median(s, n[c]), median(g, n[c]), mt[c],
				mt[c] / mt["untraced"], ("floor" in mt) && c != "untraced" ? sprintf("%.2f", mt[c] / mt["floor"]) : "-",
				median(u, n[c]), median(p, n[c]), median(m, n[c]) / 1024
		}
		print "(medians; req/s = SET and GET requests over their time; CPU = the tracer'"'"'s own (heaptrace,"
		print " heaptrack_interpret) during the benchmark, % of one core over its wall time; RSS = its peak)"
	}' "$T/redis"
}

DS=$BUILD/bench/deepstacks
DUMP_BITS=17

# median_table FILE COL1 COL2 COL3 NOTE: FILE's "config value" lines as one
# row per config (first seen first): its median, and that over the first
# config's median.
median_table() {
	awk -v h1="$2" -v h2="$3" -v h3="$4" -v note="$5" "$AWK_MEDIAN"'
	{ n[$1]++; v[$1, n[$1]] = $2; if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 } }
	END {
		printf "%-11s %9s %8s\n", h1, h2, h3
		for (i = 1; i <= no; i++) {
			c = order[i]
			for (k = 1; k <= n[c]; k++) a[k] = v[c, k]
			m = median(a, n[c])
			if (i == 1) base = m
			printf "%-11s %9.1f %8.2f\n", c, m, m / base
		}
		print note
	}' "$1"
}

# compile: Debian's cc1plus -O2 on bench/workloads/stl_heavy.cc (preprocessed
# once): a real allocation-heavy program, about a million allocator calls.
# Untraced, heaptrace at the default rate on the allocator's entry points,
# heaptrace through the in-process sampler (--preload), and heaptrack.
CC1PLUS=$(gcc -print-prog-name=cc1plus)
# default: every call traced (valve off); valve: heaptrace's defaults, safety valve at 5 %.
COMPILE_CONFIGS=(untraced "default:--max-overhead off" "valve:" "sampler:--preload")
command -v heaptrack >/dev/null && COMPILE_CONFIGS+=("heaptrack:")

compile_part() {
	local r c name args t0 t1 cmd
	g++ -std=c++17 -E bench/workloads/stl_heavy.cc -o "$T/stl.ii"
	cmd=("$CC1PLUS" -quiet -fpreprocessed -std=c++17 -O2 "$T/stl.ii" -o /dev/null)
	echo "bench: cc1plus -O2, $REPS rounds of ${#COMPILE_CONFIGS[@]} configurations" >&2
	: >"$T/compile"
	for ((r = 1; r <= REPS; r++)); do
		for c in "${COMPILE_CONFIGS[@]}"; do
			name=${c%%:*}
			args=${c#*:}
			rm -rf "$T/out" && mkdir -p "$T/out"
			t0=$(now_ns)
			# shellcheck disable=SC2086
			case "$name" in
			untraced) "${cmd[@]}" ;;
			heaptrack)
				# heaptrack_interpret may run out of memory on a run this long: no figure then.
				if ! heaptrack -o "$T/out/ht" "${cmd[@]}" >/dev/null 2>&1; then
					echo "bench: heaptrack failed on cc1plus (round $r)" >&2
					continue
				fi
				;;
			*) "$HT" $args -o "$T/out" -- "${cmd[@]}" 2>/dev/null ;;
			esac
			t1=$(now_ns)
			echo "$name $(((t1 - t0) / 1000000))" >>"$T/compile"
		done
		echo "bench: compile round $r done" >&2
	done
	median_table "$T/compile" config "wall ms" "x untr." "(cc1plus -O2 wall time, median)"
}

# filtered: what a process heaptrace does not trace pays while heaptrace
# runs system-wide: mallocbench (1 thread, 2,000,000 malloc(64)+free pairs)
# alone, beside `heaptrace --comm` of another name (probes per wanted
# process: none here), and beside unfiltered system-wide heaptrace (probes
# for every process), alternating.
FILTERED_CONFIGS=(alone "filtered:--comm nosuchprocess" "unfiltered:--max-overhead off")

filtered_part() {
	local r c name args ht ns
	mkdir -p "$BUILD/bench"
	cc -O2 -Wall -Wextra -Werror bench/mallocbench.c -o "$MB" -lpthread -lstdc++
	echo "bench: an untraced process beside system-wide heaptrace, $REPS rounds" >&2
	: >"$T/filtered"
	for ((r = 1; r <= REPS; r++)); do
		for c in "${FILTERED_CONFIGS[@]}"; do
			name=${c%%:*}
			args=${c#*:}
			ht=
			if [ "$name" != alone ]; then
				rm -rf "$T/out" && mkdir -p "$T/out"
				# shellcheck disable=SC2086
				env --default-signal=INT,TERM "$HT" $args -i 1h -o "$T/out" >/dev/null 2>"$T/ht.err" &
				ht=$!
				BG_PIDS+=("$ht")
				wait_for "$T/ht.err" 'tracing every process' "$ht" || { cat "$T/ht.err" >&2; exit 1; }
			fi
			ns=$("$MB" 1 64 2000000 | sed -n 's/^ns_per_pair //p')
			if [ -n "$ht" ]; then
				kill -INT "$ht"
				wait "$ht" || true
				BG_PIDS=()
			fi
			echo "$name ${ns:-0}" >>"$T/filtered"
		done
		echo "bench: filtered round $r done" >&2
	done
	median_table "$T/filtered" beside "ns/pair" "x alone" \
		"(an untraced process: ns per malloc+free pair, median)"
}

dump_part() {
	mkdir -p "$BUILD/bench"
	# Frame pointers for --unwind fp; no inlining or tail calls, so each path is its own stack.
	cc -O2 -g -fno-omit-frame-pointer -fno-optimize-sibling-calls -Wall -Wextra -Werror \
		bench/deepstacks.c -o "$DS"
	echo "bench: one dump of $((1 << DUMP_BITS)) distinct stacks, $REPS rounds, fp and dwarf" >&2
	local r u pause extra
	: >"$T/dump"
	for ((r = 1; r <= REPS; r++)); do
		for u in fp dwarf; do
			# DWARF samples cost the daemon ~50 us each to unwind: pause longer so none is lost,
			# and copy 4 KiB of stack (these stacks are shallow) to keep the ring from filling.
			pause=10000 extra=
			[ "$u" = dwarf ] && pause=80000 extra="--stack-size 4k"
			rm -rf "$T/out" && mkdir -p "$T/out"
			# shellcheck disable=SC2086
			"$HT" --max-overhead off -v -r 1 --max-stacks 262144 --unwind "$u" $extra -o "$T/out" -- "$DS" "$DUMP_BITS" "$pause" \
				>/dev/null 2>"$T/dump.err"
			sed -nE "s/.*dump of pid [0-9]+: ([0-9]+) stacks in ([0-9.]+) s.*/$u \1 \2/p" "$T/dump.err" |
				tail -n 1 >>"$T/dump"
			sed -nE "s/.*own cost in all: .*peak RSS ([0-9]+) KiB.*/$u rss \1/p" "$T/dump.err" >>"$T/dump"
		done
		echo "bench: dump round $r done" >&2
	done
	awk "$AWK_MEDIAN"'
	$2 == "rss" { n2[$1]++; rss[$1, n2[$1]] = $3; next }
	{ n[$1]++; st[$1, n[$1]] = $2; tm[$1, n[$1]] = $3; if (!($1 in seen)) { seen[$1] = 1; order[++no] = $1 } }
	END {
		printf "%-8s %8s %10s %9s %10s\n", "unwind", "stacks", "dump s", "max s", "RSS MiB"
		for (i = 1; i <= no; i++) {
			c = order[i]; mx = 0
			for (k = 1; k <= n[c]; k++) { a[k] = st[c, k]; b[k] = tm[c, k]; if (b[k] > mx) mx = b[k] }
			for (k = 1; k <= n2[c]; k++) m[k] = rss[c, k]
			printf "%-8s %8d %10.3f %9.3f %10.1f\n", c, median(a, n[c]), median(b, n[c]), mx, median(m, n2[c]) / 1024
		}
		print "(medians; one profile of every stack, -r 1: snapshot, symbolization, encoding and write)"
	}' "$T/dump"
}

# Servers and tracers of an interrupted redis run: stop them, by their own PIDs.
cleanup() {
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	rm -rf "$T"
}
trap cleanup EXIT

case "$PARTS" in
python) python_part ;;
micro) micro_part ;;
compile) compile_part ;;
filtered) filtered_part ;;
redis) redis_part ;;
dump) dump_part ;;
all)
	python_part
	echo
	micro_part
	echo
	compile_part
	echo
	filtered_part
	echo
	redis_part
	echo
	dump_part
	;;
*)
	echo "bench: error: unknown part '$PARTS': python, micro, compile, filtered, redis, dump or all" >&2
	exit 2
	;;
esac
