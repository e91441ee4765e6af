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
# and the ratios of added cost (traced - untraced): default/floor,
# default/classic (sessions vs pairs), classic/floor-pair, default/entry
# (moved vs naive placement), floor/floor-entry.
#
# Usage: sudo bench/run.sh [REPS [python|micro|all]]   (default 3 all).
# Needs root, like heaptrace.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
REPS=${1:-3}
PARTS=${2:-all}
HT=$BUILD/heaptrace
PY=/usr/bin/python3
# Long enough (about 4 s untraced) that start-up is a small part of the run.
WORK=(bench/workloads/python_objects.py 120)

[ "$(id -u)" -eq 0 ] || { echo "bench: error: run as root (heaptrace loads BPF programs)" >&2; exit 1; }
make -s BUILD="$BUILD" "$HT" >/dev/null
T=$(mktemp -d /tmp/heaptrace-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

CONFIGS=(untraced "fp:--unwind fp" "dwarf:--unwind dwarf" "fp-64k:--unwind fp -r 64k" "dwarf-64k:--unwind dwarf -r 64k")

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
	"$HT" -v $args -o "$out" -- "$PY" "${WORK[@]}" >/dev/null 2>"$err"
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

MB=$BUILD/bench/mallocbench
MICRO_CONFIGS=(untraced "floor-entry:--floor --probe-at-entry" "floor:--floor"
	"floor-pair:--floor --no-session" "entry:--probe-at-entry" "default:" "classic:--no-session"
	"r1:-r 1")
# threads size pairs
MICRO_LOADS=("1 64 100000" "1 4096 100000" "1 65536 100000" "$(nproc) 64 100000")

micro_part() {
	mkdir -p "$BUILD/bench"
	cc -O2 -Wall -Wextra -Werror bench/mallocbench.c -o "$MB" -lpthread
	echo "bench: malloc/free pairs, $REPS rounds of ${#MICRO_CONFIGS[@]} configurations x ${#MICRO_LOADS[@]} loads" >&2
	local r c name args load ns
	: >"$T/micro"
	for ((r = 1; r <= REPS; r++)); do
		for load in "${MICRO_LOADS[@]}"; do
			for c in "${MICRO_CONFIGS[@]}"; do
				name=${c%%:*}
				args=${c#*:}
				if [ "$name" = untraced ]; then
					# shellcheck disable=SC2086
					ns=$("$MB" $load | sed -n 's/^ns_per_pair //p')
				else
					rm -rf "$T/out" && mkdir -p "$T/out"
					# shellcheck disable=SC2086
					ns=$("$HT" $args -o "$T/out" -- "$MB" $load 2>/dev/null | sed -n 's/^ns_per_pair //p')
				fi
				echo "${load// /\/} $name ${ns:-0}" >>"$T/micro"
			done
		done
		echo "bench: micro round $r done" >&2
	done
	awk -v cfgs="${MICRO_CONFIGS[*]}" '
	function median(a, n,   i, j, t) {
		for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{
		k = $1 SUBSEP $2; n[k]++; v[k, n[k]] = $3
		if (!($1 in seen)) { seen[$1] = 1; loads[++nl] = $1 }
		if (!($2 in cseen)) { cseen[$2] = 1; order[++nc] = $2 }
	}
	END {
		printf "%-16s", "thr/size/pairs"
		for (i = 1; i <= nc; i++) printf " %11s", order[i]
		printf " %9s %9s %9s %9s %9s\n", "dflt/flr", "dflt/cls", "cls/flr-p", "dflt/ent", "flr/flr-e"
		for (l = 1; l <= nl; l++) {
			printf "%-16s", loads[l]
			for (i = 1; i <= nc; i++) {
				k = loads[l] SUBSEP order[i]
				for (j = 1; j <= n[k]; j++) a[j] = v[k, j]
				m[order[i]] = median(a, n[k])
				printf " %11.1f", m[order[i]]
			}
			u = m["untraced"]
			printf " %9.2f %9.2f %9.2f %9.2f %9.2f\n", (m["default"] - u) / (m["floor"] - u),
				(m["default"] - u) / (m["classic"] - u), (m["classic"] - u) / (m["floor-pair"] - u),
				(m["default"] - u) / (m["entry"] - u), (m["floor"] - u) / (m["floor-entry"] - u)
		}
		print "(ns per malloc+free pair per thread, median; ratios of added cost over untraced)"
	}' "$T/micro"
}

case "$PARTS" in
python) python_part ;;
micro) micro_part ;;
*)
	python_part
	echo
	micro_part
	;;
esac
