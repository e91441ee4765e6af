# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# lib.sh - shared helpers for heaptrace's end-to-end tests. Sourced, never run:
#
#   #!/bin/bash
#   . "$(dirname "$0")/lib.sh"
#   require_root_btf
#   plan 3
#   ...
#   done_testing
#
# Output is TAP for prove. Everything here is real: the real heaptrace
# binary ($HEAPTRACE), the real kernel, fixtures from $FIXTURES, and profiles
# read back with the real consumer, `go tool pprof`. Every wait is bounded.
#
# Environment: BUILD (default build) selects the build directory;
# HT_KEEP=1 keeps the per-test temporary directory for a post-mortem.

set -u

TOPDIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD:-build}
case "$BUILD" in
/*) ;;
*) BUILD=$(pwd)/$BUILD ;;
esac
HEAPTRACE=${HEAPTRACE:-$BUILD/heaptrace}
FIXTURES=$BUILD/fixtures
TEST_NAME=$(basename "$0" .sh)

# Profile file names: <comm>.<pid>.<UTC time>[.<ms>]Z[_<n>].heap.pb.gz (_<n>: the name was taken)
PROFILE_RE='^[^/]+\.[0-9]+\.[0-9]{8}T[0-9]{6}(\.[0-9]{3})?Z(_[0-9a-f]+)?\.heap\.pb\.gz$'

# The status line: heaptrace: pid N (COMM): inuse X (+Y) in K objects,
# allocated Z, S samples, L lost. Use as "$STATUS_RE_HEAD\(comm\)$STATUS_RE_TAIL".
STATUS_RE_HEAD='^heaptrace: pid [0-9]+ '
STATUS_RE_TAIL=': inuse [^ ]+( [^ ]+)? \([+-]?[^)]*\) in [0-9]+ objects, allocated [^,]+, [0-9]+ samples, [0-9]+ lost(, leak suspect: .*)?$'
STATUS_RE_TAIL_NOLOSS=': inuse [^ ]+( [^ ]+)? \([+-]?[^)]*\) in [0-9]+ objects, allocated [^,]+, [0-9]+ samples, 0 lost(, leak suspect: .*)?$'

# ---------------------------------------------------------------- TAP ----

_tap_n=0
_tap_failed=0
_tap_planned=

plan() {
	_tap_planned=$1
	echo "1..$1"
}

diag() {
	local line
	while IFS= read -r line; do
		echo "# $line"
	done <<<"$*"
}

# ok STATUS DESCRIPTION: passes when STATUS is 0, as in `[ -f x ]; ok $? "x exists"`.
ok() {
	local status=$1
	shift
	_tap_n=$((_tap_n + 1))
	if [ "$status" -eq 0 ]; then
		echo "ok $_tap_n - $*"
		return 0
	fi
	echo "not ok $_tap_n - $*"
	_tap_failed=$((_tap_failed + 1))
	return 1
}

_is_int() {
	[[ "$1" =~ ^-?[0-9]+$ ]]
}

# is GOT EXPECTED DESCRIPTION: numeric equality when both are integers,
# string equality otherwise; a failure shows expected and got.
is() {
	local got=$1 expected=$2
	shift 2
	local same=1
	if _is_int "$got" && _is_int "$expected"; then
		[ "$got" -eq "$expected" ] && same=0
	else
		[ "$got" = "$expected" ] && same=0
	fi
	if ok $same "$*"; then
		return 0
	fi
	diag "  expected: '$expected'"
	diag "       got: '$got'"
	return 1
}

# like GOT EXTENDED_REGEX DESCRIPTION
like() {
	local got=$1 re=$2
	shift 2
	local m=1
	[[ "$got" =~ $re ]] && m=0
	if ok $m "$*"; then
		return 0
	fi
	diag "  expected to match: $re"
	diag "               got: '$got'"
	return 1
}

# within GOT EXPECTED PERCENT DESCRIPTION: |GOT - EXPECTED| <= PERCENT% of EXPECTED.
within() {
	local got=$1 expected=$2 pct=$3
	shift 3
	local r=1
	if _is_int "$got" && _is_int "$expected"; then
		local d=$((got - expected))
		[ $d -lt 0 ] && d=$((-d))
		[ $((d * 100)) -le $((expected * pct)) ] && r=0
	fi
	if ok $r "$*"; then
		return 0
	fi
	diag "  expected: $expected (+-$pct%)"
	diag "       got: '$got'"
	return 1
}

skip() {
	_tap_n=$((_tap_n + 1))
	echo "ok $_tap_n # SKIP $*"
}

skip_all() {
	echo "1..0 # SKIP $*"
	exit 0
}

bail_out() {
	echo "Bail out! $*"
	exit 255
}

# Prints the plan if none was given; exit status is non-zero on any failure.
done_testing() {
	if [ -z "$_tap_planned" ]; then
		echo "1..$_tap_n"
	elif [ "$_tap_planned" -ne "$_tap_n" ]; then
		diag "planned $_tap_planned tests but ran $_tap_n"
		exit 1
	fi
	[ "$_tap_failed" -eq 0 ] || exit 1
	exit 0
}

# A missing precondition is a skip on a developer's machine but a failure
# under CI, where the host is known to have it.
_precondition_missing() {
	if [ "${CI:-}" = "true" ]; then
		echo "1..1"
		echo "not ok 1 - precondition: $* (CI=true: a skip is a failure)"
		exit 1
	fi
	skip_all "$*"
}

require_root_btf() {
	[ "$(id -u)" -eq 0 ] || _precondition_missing "needs root to load BPF programs"
	[ -r /sys/kernel/btf/vmlinux ] || _precondition_missing "kernel has no BTF (/sys/kernel/btf/vmlinux)"
	[ -x "$HEAPTRACE" ] || bail_out "$HEAPTRACE is not built (run make)"
	command -v go >/dev/null 2>&1 || bail_out "go is not installed (scripts/install-deps.sh)"
}

# require_kernel MAJOR MINOR WHAT: WHAT came with Linux MAJOR.MINOR.
require_kernel() {
	local kver kmaj kmin
	kver=$(uname -r)
	kmaj=${kver%%.*}
	kmin=${kver#*.}
	kmin=${kmin%%[!0-9]*}
	if [ "$kmaj" -lt "$1" ] || { [ "$kmaj" -eq "$1" ] && [ "$kmin" -lt "$2" ]; }; then
		_precondition_missing "kernel $kver predates $3 ($1.$2)"
	fi
}

require_fixture() {
	local f
	for f in "$@"; do
		[ -x "$FIXTURES/$f" ] || bail_out "fixture $FIXTURES/$f is not built (make fixtures)"
	done
}

# -------------------------------------------------- temp dir, cleanup ----

T=$(mktemp -d "${TMPDIR:-/tmp}/$TEST_NAME.XXXXXX") || bail_out "mktemp failed"
chmod 755 "$T"
_bg_pids=()

_cleanup() {
	local pid
	for pid in "${_bg_pids[@]}"; do
		kill -KILL "$pid" 2>/dev/null
	done
	for pid in "${_bg_pids[@]}"; do
		wait "$pid" 2>/dev/null
	done
	if [ "${HT_KEEP:-0}" = 1 ]; then
		echo "# kept $T" >&2
	else
		rm -rf "$T"
	fi
}
trap _cleanup EXIT
trap 'exit 130' INT TERM

# Remember a background pid so it is killed if the test ends early.
track_pid() {
	_bg_pids+=("$1")
}

# ------------------------------------------------------- processes ----

# is_running PID: true while PID exists and is not a zombie.
is_running() {
	local state
	state=$(awk '{ sub(/.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

# wait_exit PID [TIMEOUT_S]: waits (bounded) for PID to end. For a child of
# this shell EXIT_STATUS is its exit status. Returns 0 when it ended, 124
# on timeout (the process is left running).
EXIT_STATUS=
wait_exit() {
	local pid=$1 timeout=${2:-20}
	local deadline=$((SECONDS + timeout))
	EXIT_STATUS=
	while is_running "$pid"; do
		if [ $SECONDS -ge "$deadline" ]; then
			diag "pid $pid still running after ${timeout}s"
			return 124
		fi
		sleep 0.05
	done
	wait "$pid" 2>/dev/null
	EXIT_STATUS=$?
	return 0
}

# wait_for_line FILE EXTENDED_REGEX [TIMEOUT_S] [COUNT] [PID]: waits until FILE
# has COUNT (default 1) lines matching; gives up early when PID is gone.
wait_for_line() {
	local file=$1 re=$2 timeout=${3:-20} count=${4:-1} pid=${5:-}
	local deadline=$((SECONDS + timeout)) n
	while :; do
		n=$(grep -cE -- "$re" "$file" 2>/dev/null)
		[ "${n:-0}" -ge "$count" ] && return 0
		if [ -n "$pid" ] && ! is_running "$pid"; then
			n=$(grep -cE -- "$re" "$file" 2>/dev/null)
			[ "${n:-0}" -ge "$count" ] && return 0
			return 1
		fi
		[ $SECONDS -ge "$deadline" ] && return 124
		sleep 0.05
	done
}

# start_heaptrace STDERR_FILE ARGS...: starts heaptrace in the background
# (stdout to STDERR_FILE.out) and waits up to 20 s until it has printed
# "tracing pid" once per -p given (at least once). Sets HT_PID. Returns
# non-zero, with the stderr shown as diagnostics, when it never got there.
# SIGINT/SIGTERM are reset to default: a non-interactive shell would start
# background jobs with SIGINT ignored, unlike a person's shell.
HT_PID=
start_heaptrace() {
	local errfile=$1
	shift
	local npids=0 a
	for a in "$@"; do
		case "$a" in
		-p | --pid | --pid=* | -p[0-9]*) npids=$((npids + 1)) ;;
		--) break ;;
		esac
	done
	[ $npids -ge 1 ] || npids=1
	env --default-signal=INT,TERM "$HEAPTRACE" "$@" >"$errfile.out" 2>"$errfile" &
	HT_PID=$!
	track_pid "$HT_PID"
	if ! wait_for_line "$errfile" 'tracing pid' 20 "$npids" "$HT_PID"; then
		diag "heaptrace $* did not report 'tracing pid' x$npids; its stderr:"
		diag "$(cat "$errfile")"
		return 1
	fi
	return 0
}

# start_fixture NAME ARGS...: starts $FIXTURES/NAME in the background with
# stdout to $T/NAME.<pid>.out; with --wait among ARGS waits (bounded) for
# "ready". Sets FIX_PID and FIX_OUT. FIX_ENV (an array of VAR=VALUE) is
# the fixture's own environment on top of the test's.
FIX_PID=
FIX_OUT=
FIX_ENV=()
start_fixture() {
	local name=$1
	shift
	local out
	out=$(mktemp "$T/$name.XXXXXX.out")
	env --default-signal=INT,TERM "${FIX_ENV[@]}" "$FIXTURES/$name" "$@" >"$out" 2>"$out.err" &
	FIX_PID=$!
	FIX_OUT=$out
	track_pid "$FIX_PID"
	case " $* " in
	*" --wait "*)
		if ! wait_for_line "$out" '^ready$' 20 1 "$FIX_PID"; then
			diag "fixture $name never printed ready"
			return 1
		fi
		;;
	esac
	return 0
}

# make_test_cgroup: a cgroup v2 directory of this test's own, $cg under the
# hierarchy's root $root, removed at exit with its processes moved back to
# the root first. A host without the hierarchy is a missing precondition.
make_test_cgroup() {
	root=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
	[ -n "$root" ] || _precondition_missing "no cgroup v2 hierarchy mounted"
	cg=$root/heaptrace-$TEST_NAME-$$
	mkdir "$cg" || _precondition_missing "cannot create a cgroup under $root"
	trap '_cleanup_cgroup; _cleanup' EXIT
}
_cleanup_cgroup() {
	local p
	for p in $(cat "$cg/cgroup.procs" 2>/dev/null); do
		echo "$p" >"$root/cgroup.procs" 2>/dev/null
	done
	rmdir "$cg" 2>/dev/null
}

# make_test_memcg LIMIT_BYTES: a memory cgroup of this test's own with that
# limit (swap included), $memcg, removed at exit with its processes killed
# first. Where the memory controller is on a cgroup v1 hierarchy (as on this
# project's machines, /sys/fs/cgroup/memory) it is made there, below the
# test's own memory cgroup; else on v2, where the controller must be
# enabled for children. Run a fixture in it with
#   sh -ec 'echo $$ >"$memcg/cgroup.procs"; exec FIXTURE ...'
# and check /proc/PID/cgroup before it allocates.
make_test_memcg() {
	local limit=$1 v1 own
	v1=$(awk '$3 == "cgroup" && $4 ~ /(^|,)memory(,|$)/ { print $2; exit }' /proc/mounts)
	if [ -n "$v1" ]; then
		own=$(awk -F: '$2 ~ /(^|,)memory(,|$)/ { print $3; exit }' /proc/self/cgroup)
		memcg=$v1${own%/}/heaptrace-$TEST_NAME-$$
		mkdir "$memcg" || _precondition_missing "cannot create a memory cgroup under $v1$own"
		echo "$limit" >"$memcg/memory.limit_in_bytes" &&
			{ [ ! -e "$memcg/memory.memsw.limit_in_bytes" ] ||
				echo "$limit" >"$memcg/memory.memsw.limit_in_bytes"; } ||
			_precondition_missing "cannot set the limit of $memcg"
	else
		make_test_cgroup
		memcg=$cg
		grep -qw memory "$memcg/../cgroup.subtree_control" 2>/dev/null ||
			_precondition_missing "the v2 memory controller is not enabled under $root"
		echo "$limit" >"$memcg/memory.max" && echo 0 >"$memcg/memory.swap.max" ||
			_precondition_missing "cannot set the limit of $memcg"
	fi
	trap '_cleanup_memcg; _cleanup' EXIT
}
_cleanup_memcg() {
	local p
	for p in $(cat "$memcg/cgroup.procs" 2>/dev/null); do
		kill -KILL "$p" 2>/dev/null
	done
	for _ in $(seq 50); do
		[ -z "$(cat "$memcg/cgroup.procs" 2>/dev/null)" ] && break
		sleep 0.1
	done
	rmdir "$memcg" 2>/dev/null
}

# run_bounded TIMEOUT_S CMD...: runs CMD, killing it after TIMEOUT_S.
run_bounded() {
	local t=$1
	shift
	timeout --kill-after=5 "$t" "$@"
}

# ------------------------------------------------- fixture truth ----

# What the fixtures allocate (the tables at the top of
# tests/fixtures/alloc_known.c and alloc_cxx.cc), one function a line:
# function alloc_objects alloc_space inuse_objects inuse_space
ALLOC_KNOWN_TABLE='
leak_malloc         10  10000  10 10000
leak_calloc          5  10000   5 10000
grow_realloc         2   3100   1  3000
leak_reallocarray    1   1000   1  1000
leak_posix_memalign  4   8192   4  8192
leak_aligned_alloc   3  12288   3 12288
leak_memalign        2   2000   2  2000
leak_valloc          1   5000   1  5000
churn             1000  95020   0     0
edge_cases           1    500   0     0
'
ALLOC_CXX_TABLE='
new_objects   7  700  7  700
new_arrays    3 9000  3 9000
delete_some   5  240  0    0
'

# assert_table PROFILE TABLE [PREFIX]: 4 exact values per function.
assert_table() {
	local prof=$1 table=$2 pfx=${3:-}
	local fn ao as io is
	while read -r fn ao as io is; do
		[ -n "$fn" ] || continue
		is "$(pprof_flat "$prof" alloc_objects "$fn")" "$ao" "$pfx$fn alloc_objects"
		is "$(pprof_flat "$prof" alloc_space "$fn")" "$as" "$pfx$fn alloc_space"
		is "$(pprof_flat "$prof" inuse_objects "$fn")" "$io" "$pfx$fn inuse_objects"
		is "$(pprof_flat "$prof" inuse_space "$fn")" "$is" "$pfx$fn inuse_space"
	done <<<"$table"
}

# ------------------------------------------------------- profiles ----

# profiles_of DIR [PID]: the profile files in DIR (of PID), oldest first.
profiles_of() {
	local dir=$1 pid=${2:-}
	local f
	for f in "$dir"/*.heap.pb.gz; do
		[ -e "$f" ] || continue
		if [ -n "$pid" ]; then
			case "$(basename "$f")" in
			*."$pid".*) ;;
			*) continue ;;
			esac
		fi
		echo "$f"
	done | sort
}

last_profile() {
	profiles_of "$@" | tail -n 1
}

first_profile() {
	profiles_of "$@" | head -n 1
}

# pprof ARGS...: `go tool pprof` with its state kept inside the test dir.
pprof() {
	mkdir -p "$T/home" "$T/pprof"
	HOME=$T/home GOCACHE=$T/home/gocache PPROF_TMPDIR=$T/pprof \
		go tool pprof "$@"
}

# Units that make pprof print exact integers: bytes for *_space, plain
# counts for *_objects.
_pprof_unit_args() {
	case "$1" in
	*_space) echo "-unit=B" ;;
	esac
}

# _pprof_top FILE SAMPLE_INDEX [EXTRA_ARGS...]: prints "flat<TAB>cum<TAB>name"
# for every function, values as exact integers.
_pprof_top() {
	local file=$1 si=$2
	shift 2
	pprof -top -nodefraction=0 -edgefraction=0 -nodecount=1000000 \
		-sample_index="$si" $(_pprof_unit_args "$si") "$@" "$file" 2>"$T/pprof.err" |
		awk '
		started {
			flat = $1; cum = $4
			name = $0
			sub(/^ *[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +[^ ]+ +/, "", name)
			sub(/ \(inline\)$/, "", name)
			sub(/B$/, "", flat); sub(/B$/, "", cum)
			printf "%s\t%s\t%s\n", flat, cum, name
			next
		}
		/^ *flat +flat%/ { started = 1 }'
}

_pprof_value() {
	local col=$1 file=$2 si=$3 fn=$4
	shift 4
	_pprof_top "$file" "$si" "$@" | awk -F'\t' -v fn="$fn" -v col="$col" '
		$3 == fn {
			if ($col !~ /^-?[0-9]+$/) { print "non-integer:" $col; bad = 1; exit }
			sum += $col
		}
		END { if (!bad) print sum + 0 }'
}

# pprof_flat FILE SAMPLE_INDEX FUNCTION [PPROF_ARGS...]: the function's exact
# flat value (bytes for *_space, counts for *_objects); 0 when absent.
# Extra args, e.g. -base OTHER, go to pprof.
pprof_flat() {
	_pprof_value 1 "$@"
}

# pprof_cum FILE SAMPLE_INDEX FUNCTION [PPROF_ARGS...]: the cumulative value.
pprof_cum() {
	_pprof_value 2 "$@"
}

# pprof_total FILE SAMPLE_INDEX: the profile total for that sample type.
pprof_total() {
	local file=$1 si=$2
	_pprof_top "$file" "$si" | awk -F'\t' '{ s += $1 } END { print s + 0 }'
}

# pprof_traces FILE [SAMPLE_INDEX]: one line per sample, from
# `go tool pprof -traces`: "VALUE<TAB>leaf;caller;...;root", VALUE exact.
pprof_traces() {
	local file=$1 si=${2:-inuse_space}
	pprof -traces -sample_index="$si" $(_pprof_unit_args "$si") "$file" 2>"$T/pprof.err" |
		awk '
		function flush() {
			if (stack != "") printf "%s\t%s\n", value, stack
			stack = ""; value = ""
		}
		/^-----------\+/ { flush(); inblock = 1; next }
		!inblock { next }
		$1 ~ /:$/ { next }                          # label line, e.g. "bytes: 1kB"
		/^             / {                          # caller of the line above (13 spaces)
			name = $0
			sub(/^ +/, "", name); sub(/ \(inline\)$/, "", name)
			stack = stack ";" name
			next
		}
		{                                           # value and leaf
			flush()
			value = $1
			sub(/B$/, "", value)
			name = $0
			sub(/^ *[^ ]+ +/, "", name); sub(/ \(inline\)$/, "", name)
			stack = name
		}
		END { flush() }'
}

# stack_leaf "leaf;...;root" -> leaf
stack_leaf() {
	echo "${1%%;*}"
}

# stack_reaches_main "leaf;...;root": true when main is on the stack.
stack_reaches_main() {
	case ";$1;" in
	*";main;"*) return 0 ;;
	esac
	return 1
}

# todo DESCRIPTION REASON: a TAP TODO line, for a known gap tracked elsewhere;
# prove reports it without failing.
todo() {
	_tap_n=$((_tap_n + 1))
	echo "not ok $_tap_n - $1 # TODO $2"
}

# check_stacks FILE [--leaf-only] FUNCTION...: for each FUNCTION, the stacks
# (of alloc_objects) that contain it must exist, have it as their leaf, and
# (unless --leaf-only) reach main. Prints a diagnostic and returns non-zero otherwise; one TAP
# line per function via ok.
check_stacks() {
	local file=$1 need_main=1
	shift
	if [ "${1:-}" = --leaf-only ]; then
		need_main=0
		shift
	fi
	local traces fn line stack n bad
	traces=$(pprof_traces "$file" alloc_objects)
	for fn in "$@"; do
		n=0
		bad=
		while IFS=$'\t' read -r _ stack; do
			case ";$stack;" in
			*";$fn;"*) ;;
			*) continue ;;
			esac
			n=$((n + 1))
			if [ "$(stack_leaf "$stack")" != "$fn" ]; then
				bad="leaf is not $fn: $stack"
			elif [ $need_main = 1 ] && ! stack_reaches_main "$stack"; then
				bad="does not reach main: $stack"
			fi
		done <<<"$traces"
		[ $n -gt 0 ] || bad="no stack contains $fn"
		local what="has it as leaf and reaches main"
		[ $need_main = 1 ] || what="has it as leaf"
		if ! ok "$([ -z "$bad" ]; echo $?)" "$fn: every stack $what ($n stacks)"; then
			diag "$bad"
		fi
	done
}

# check_no_allocator_frames FILE: no stack shows an allocator frame.
check_no_allocator_frames() {
	local file=$1 hits
	hits=$(pprof_traces "$file" alloc_objects | cut -f2 | tr ';' '\n' | grep -E \
		'^(malloc|calloc|realloc|reallocarray|free|posix_memalign|aligned_alloc|memalign|valloc|pvalloc|__libc_(malloc|calloc|realloc|memalign|valloc|pvalloc)|_int_malloc|_mid_memalign|operator new.*|_Zn[wa]m.*|\[\[uprobes\]\])$' |
		sort -u)
	if ! ok "$([ -z "$hits" ]; echo $?)" "no allocator frames (malloc, operator new, ...) nor [[uprobes]] trampolines in any stack"; then
		diag "found: $(echo $hits)"
	fi
}
