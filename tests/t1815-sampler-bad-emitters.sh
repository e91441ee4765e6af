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

# The object with the probes unloaded (a library with its own emitter,
# dlclose'd): the allocator's entry points take over within a second.
cat >"$T/libemit.c" <<'EOC'
#define _SDT_HAS_SEMAPHORES 1
#include <stdlib.h>
#include <sys/sdt.h>
unsigned short otel_memory_alloc_semaphore __attribute__((section(".probes"), used));
unsigned short otel_memory_free_semaphore __attribute__((section(".probes"), used));
void *volatile lib_kept[5];
__attribute__((noinline)) static void *emit_alloc(size_t n)
{
	void *p = malloc(n);
	if (p && otel_memory_alloc_semaphore)
		STAP_PROBE3(otel_memory, alloc, p, n, n);
	return p;
}
__attribute__((noinline)) static void emit_free(void *p)
{
	if (p && otel_memory_free_semaphore)
		STAP_PROBE1(otel_memory, free, p);
	free(p);
}
__attribute__((noinline)) void lib_leak(void)
{
	for (int i = 0; i < 5; i++)
		lib_kept[i] = emit_alloc(1000);
	for (int i = 0; i < 10; i++)
		emit_free(emit_alloc(64));
}
EOC
cat >"$T/unloader.c" <<'EOC'
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
void *volatile kept[7];
static volatile sig_atomic_t go;
static void on_usr1(int sig) { (void)sig; go = 1; }
__attribute__((noinline)) void after_unload(void)
{
	for (int i = 0; i < 7; i++)
		kept[i] = malloc(300);
}
int main(int argc, char **argv)
{
	void *h = dlopen(argv[1], RTLD_NOW);
	void (*leak)(void);
	(void)argc;
	if (!h || !(*(void **)&leak = dlsym(h, "lib_leak")))
		return 1;
	signal(SIGUSR1, on_usr1);
	printf("ready\n");
	fflush(stdout);
	while (!go)
		pause();
	leak();
	dlclose(h);
	sleep(3);
	after_unload();
	return 0;
}
EOC
cc -O2 -g -fPIC -shared -fno-omit-frame-pointer -o "$T/libemit.so" "$T/libemit.c" &&
	cc -O2 -g -fno-omit-frame-pointer -fno-inline -o "$T/unloader" "$T/unloader.c" -ldl ||
	bail_out "cannot build the unloading program"
"$T/unloader" "$T/libemit.so" >"$T/unloader.out" 2>&1 &
FIX_PID=$!
track_pid "$FIX_PID"
wait_for_line "$T/unloader.out" '^ready$' 20 1 "$FIX_PID" || bail_out "the unloading program did not start"
mkdir -p "$T/out-unload"
start_heaptrace "$T/err-unload" -r 1 -o "$T/out-unload" -p "$FIX_PID" || bail_out "heaptrace did not start"
like "$(grep -m1 'tracing pid' "$T/err-unload")" "in-process sampler \\(otel_memory USDT\\), 2 probes on $T/libemit.so" \
	"unload: traced through the library's probes first"
kill -USR1 "$FIX_PID"
wait_exit "$FIX_PID" 20
wait_exit "$HT_PID" 30
is "$EXIT_STATUS" 0 "unload: heaptrace exits 0 with its target"
is "$(grep -cE "^heaptrace: warning: pid $FIX_PID \\(unloader\\): '$T/libemit.so', which carried its otel_memory probes, was unloaded: tracing its allocator's entry points instead" "$T/err-unload")" 1 \
	"unload: one warning says so" || diag "$(cat "$T/err-unload")"
like "$(grep 'tracing pid' "$T/err-unload" | tail -n 1)" 'allocator, [0-9]+ probes on ' \
	"unload: then the allocator's entry points are probed"
# The library's own frames cannot be named once it is gone (docs/limits.md):
# its samples are checked by the totals, after_unload's by name.
prof=$(last_profile "$T/out-unload")
assert_table "$prof" '
after_unload  7  2100  7 2100
' "unload: "
is "$(pprof_total "$prof" alloc_objects)" 22 "unload: 15 allocations through the probes, 7 after"
is "$(pprof_total "$prof" inuse_space)" 7100 "unload: 5 x 1000 bytes kept through the probes, 7 x 300 after"

# With --probes usdt the fault is fatal: the warning, then the error, exit 1.
run_bounded 60 "$HEAPTRACE" -r 1 --probes usdt -o "$T" -- "$T/ro-semaphores" >"$T/stdout" 2>"$T/err"
is $? 1 "--probes usdt, semaphores in read-only memory: exit 1"
like "$(grep -m1 'error' "$T/err")" "^heaptrace: error: no otel_memory USDT probes in pid [0-9]+ " \
	"--probes usdt: the error follows the warning"

done_testing
