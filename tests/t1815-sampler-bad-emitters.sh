#!/bin/bash
# A process whose otel_memory probes break the contract is traced through
# its allocator's entry points instead, with one "warning:" line naming the
# object and the fault, and the profile exact at -r 1 (nothing counted
# twice, nothing lost): probes of another version of the contract (alloc
# with two arguments), semaphores the kernel cannot count (in memory made
# read-only after relocation), and notes that cannot be read. The emitters
# are tests/fixtures/otel_emitter.c built here with the faults switched on.
. "$(dirname "$0")/lib.sh"

require_root_btf
command -v cc >/dev/null || bail_out "no C compiler (Debian package gcc)"
echo '#include <sys/sdt.h>' | cc -E - >/dev/null 2>&1 ||
	bail_out "no <sys/sdt.h> (Debian package systemtap-sdt-dev)"

# Every allocation, through malloc and free: the emitter's probes are not used,
# and its wrapper is the code that called malloc (5 x 1000 kept, 100 x 64 freed).
UPROBES_TABLE='
emit_alloc  105  11400  5 5000
plain_leak    3   2100  3 2100
'

build_emitter() {
	cc -I"$TOPDIR/tests/fixtures" -O2 -g -fno-inline -fno-omit-frame-pointer \
		-mno-omit-leaf-frame-pointer "$@" "$TOPDIR/tests/fixtures/otel_emitter.c"
}

# fell_back LABEL PROGRAM WARNING_RE: traced at -r 1, the warning, the allocator, the table.
fell_back() {
	local label=$1 prog=$2 warning=$3 out=$T/out-$((++RUNS))
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$prog" >"$T/stdout" 2>"$T/err"
	is $? 0 "$label: heaptrace exits 0" || diag "$(tail -n 20 "$T/err")"
	is "$(grep -cE "^heaptrace: warning: .*$warning" "$T/err")" 1 "$label: one warning says so" ||
		diag "$(cat "$T/err")"
	is "$(grep -c 'error' "$T/err")" 0 "$label: no error"
	like "$(grep -m1 'tracing pid' "$T/err")" 'allocator, [0-9]+ probes on ' \
		"$label: the allocator's entry points are probed instead"
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" ' 0 lost$' "$label: nothing lost"
	assert_table "$(last_profile "$out")" "$UPROBES_TABLE" "$label: "
}
RUNS=0

build_emitter -DEMITTER_OTHER_VERSION -o "$T/other-version" || bail_out "cannot build the emitter"
fell_back "alloc with two arguments" "$T/other-version" \
	"'$T/other-version': otel_memory:alloc takes 2 arguments, not 3 \\(another version of the contract\\?\\): its probes are not used"

build_emitter -DEMITTER_RO_SEMAPHORES -o "$T/ro-semaphores" || bail_out "cannot build the emitter"
fell_back "semaphores in read-only memory" "$T/ro-semaphores" \
	"'$T/ro-semaphores': the semaphore of otel_memory:alloc \\(0x[0-9a-f]+\\) is not in writable memory, where the kernel could count it: its probes are not used"

# The first note cut short (its desc size set to 8): the reader loses its
# place there, so no alloc probe is found.
build_emitter -o "$T/cut-note" || bail_out "cannot build the emitter"
python3 - "$T/cut-note" <<'EOP' || bail_out "cannot cut the note"
import struct, subprocess, sys
path = sys.argv[1]
out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
off = next(int(l.replace("[ ", "[").split()[4], 16) for l in out.splitlines()
           if len(l.replace("[ ", "[").split()) > 5 and l.replace("[ ", "[").split()[1] == ".note.stapsdt")
with open(path, "r+b") as fh:
    fh.seek(off + 4)
    fh.write(struct.pack("<I", 8))
EOP
fell_back "notes that cannot be read" "$T/cut-note" \
	"'$T/cut-note': 1 USDT note that cannot be read: ignored"

# With --probes usdt the fault is fatal: the warning, then the error, exit 1.
run_bounded 60 "$HEAPTRACE" -r 1 --probes usdt -o "$T" -- "$T/ro-semaphores" >"$T/stdout" 2>"$T/err"
is $? 1 "--probes usdt, semaphores in read-only memory: exit 1"
like "$(grep -m1 'error' "$T/err")" "^heaptrace: error: no otel_memory USDT probes in pid [0-9]+ " \
	"--probes usdt: the error follows the warning"

done_testing
