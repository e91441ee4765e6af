# SPDX-License-Identifier: GPL-2.0 OR BSD-3-Clause
# lib-sampler.sh - helpers for the tests of libheaptrace-sampler.so, sourced
# after tests/lib.sh. The tracer is bpftrace, attached to the library file
# (every process that maps it), which raises the probes' semaphores through
# the kernel's uprobe reference counters.

SAMPLER=$BUILD/libheaptrace-sampler.so
# The other kind of probe site (user/preload/build.mk): nop5 or nop1.
SAMPLER_OTHER=$(ls "$BUILD"/preload/libheaptrace-sampler-nop[15].so 2>/dev/null | head -n 1)
PRELOAD_BIN=$BUILD/preload
DLO=$PRELOAD_BIN/libsampler-dlo.so
# Debian's own builds, not a version manager's shim.
PY=/usr/bin/python3

require_sampler() {
	[ -r "$SAMPLER" ] || bail_out "$SAMPLER is not built (run make)"
	local f
	for f in sampler-exercise sampler-known libsampler-dlo.so; do
		[ -e "$PRELOAD_BIN/$f" ] || bail_out "$PRELOAD_BIN/$f is not built (make sampler)"
	done
}

require_bpftrace() {
	[ "$(id -u)" -eq 0 ] || _precondition_missing "needs root to attach uprobes"
	command -v bpftrace >/dev/null 2>&1 || _precondition_missing "bpftrace is not installed (Debian package bpftrace)"
}

# note_field PROBE FIELD: Location, Base, Semaphore or Arguments of the
# otel_memory:PROBE note of the sampler, as readelf -n prints it.
note_field() {
	readelf -n "${3:-$SAMPLER}" | awk -v probe="$1" -v field="$2" '
		/Provider:/ { prov = $2 }
		/Name:/ { name = $2 }
		prov == "otel_memory" && name == probe && /Location:/ {
			gsub(/,/, "")
			for (i = 1; i < NF; i++) if ($i == field ":") print $(i + 1)
		}
		prov == "otel_memory" && name == probe && /Arguments:/ && field == "Arguments" {
			sub(/^ *Arguments: /, ""); print
		}'
}

# file_offset VADDR [ELF]: the file offset that holds link-time address VADDR.
file_offset() {
	local va=$(($1)) typ off v _p fs
	while read -r typ off v _p fs _; do
		[ "$typ" = LOAD ] || continue
		if [ "$va" -ge $((v)) ] && [ "$va" -lt $((v + fs)) ]; then
			echo $((va - v + off))
			return 0
		fi
	done < <(readelf -lW "${2:-$SAMPLER}")
	return 1
}

# site_kind LIB: nop5 or nop1, what LIB's alloc probe site is.
site_kind() {
	local off
	off=$(file_offset "$(note_field alloc Location "$1")" "$1") || return 1
	case "$(od -An -tx1 -j "$off" -N 5 "$1" | tr -s ' ' | sed 's/^ //; s/ $//')" in
	"0f 1f 44 00 00") echo nop5 ;;
	90*) echo nop1 ;;
	*) echo unknown ;;
	esac
}

# start_bpftrace SCRIPT_FILE OUT [LIB]: bpftrace in the background (BT_PID),
# once its probes are attached: once a process that maps LIB sees its alloc
# semaphore raised.
BT_PID=
start_bpftrace() {
	local script=$1 out=$2 lib=${3:-$SAMPLER} hold base sem v i
	BPFTRACE_MAP_KEYS_MAX=1000000 bpftrace "$script" >"$out" 2>&1 &
	BT_PID=$!
	track_pid "$BT_PID"
	LD_PRELOAD=$lib "$PRELOAD_BIN/sampler-known" hold >"$out.hold" 2>&1 &
	hold=$!
	track_pid "$hold"
	wait_for_line "$out.hold" '^ready$' 20 1 "$hold"
	base=$(lib_base "$hold" "$lib")
	sem=$(($(note_field alloc Semaphore "$lib")))
	for i in $(seq 300); do
		v=$(read_u16 "$hold" $((0x$base + sem)))
		[ "${v:-0}" -gt 0 ] && break
		is_running "$BT_PID" || break
		sleep 0.1
	done
	kill "$hold"
	wait "$hold" 2>/dev/null
	if [ "${v:-0}" -eq 0 ]; then
		diag "bpftrace did not attach: $(cat "$out")"
		return 1
	fi
}

# stop_bpftrace OUT: SIGINT, and wait for bpftrace to print its maps.
stop_bpftrace() {
	kill -INT "$BT_PID" 2>/dev/null
	wait_exit "$BT_PID" 30
}

# bt_map OUT NAME KEY: a value of a map that bpftrace printed at exit ("" when absent).
bt_map() {
	local out=$1 name=$2 key=${3:-}
	if [ -n "$key" ]; then
		sed -nE "s/^@$name\[$key\]: ([0-9]+)$/\1/p" "$out" | head -n 1
	else
		sed -nE "s/^@$name: ([0-9]+)$/\1/p" "$out" | head -n 1
	fi
}

# A bpftrace script on the sampler's two probes: per size, how many sampled
# blocks (@n), their bytes (@sz) and weighted bytes (@w), and how many of
# them were freed (@f); @events and @frees in all.
counting_script() {
	local lib=${1:-$SAMPLER}
	cat <<EOF
usdt:$lib:otel_memory:alloc {
	@n[arg1] = count(); @sz[arg1] = sum(arg1); @w[arg1] = sum(arg2);
	@live[arg0] = arg1; @events = count(); @bytes = sum(arg1); @weighted = sum(arg2);
}
usdt:$lib:otel_memory:free {
	if (@live[arg0]) {
		@f[@live[arg0]] = count(); @frees = count(); delete(@live[arg0]);
	} else {
		@unknown_frees = count();
	}
}
END { clear(@live); }
EOF
}

# read_u16 PID ADDR: two bytes of PID's memory at ADDR, as a number.
read_u16() {
	dd if="/proc/$1/mem" bs=1 skip="$2" count=2 iflag=skip_bytes 2>/dev/null | od -An -tu2 | tr -d ' '
}

# lib_base PID [LIB]: where the sampler is mapped in PID (its offset-0 mapping).
lib_base() {
	awk -v lib="$(readlink -f "${2:-$SAMPLER}")" '$6 == lib && $3 == "00000000" { split($1, a, "-"); print a[1]; exit }' \
		"/proc/$1/maps"
}
