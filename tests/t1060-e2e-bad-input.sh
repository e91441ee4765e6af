#!/bin/bash
# Bad input: every case ends with a non-zero exit (not a hang) and exactly
# one stderr line starting "heaptrace: error:" that names the problem; no
# profile is written anywhere.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

# A process to point valid options at: waits (for SIGUSR1) and allocates nothing.
start_fixture alloc_known-fp --wait
live=$FIX_PID

# A pid that surely does not exist: one of ours, already reaped.
true &
gone=$!
wait "$gone"

out=$T/out
mkdir -p "$out"

# expect_error DESCRIPTION MESSAGE_REGEX ARGS...: heaptrace ARGS must fail
# with one error line matching MESSAGE_REGEX (case-insensitive).
expect_error() {
	local desc=$1 re=$2
	shift 2
	run_bounded 20 "$HEAPTRACE" "$@" >"$T/stdout" 2>"$T/stderr"
	local rc=$?
	ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ] && [ $rc -ne 137 ]; echo $?)" "$desc: non-zero exit (got $rc)"
	local n
	n=$(grep -c '^heaptrace: error:' "$T/stderr")
	if ! is "$n" 1 "$desc: exactly one 'heaptrace: error:' line"; then
		diag "stderr was:"
		diag "$(cat "$T/stderr")"
	fi
	local line
	line=$(grep -m1 '^heaptrace: error:' "$T/stderr")
	like "${line,,}" "${re,,}" "$desc: the error names the problem ($line)"
}

# (No arguments at all is system-wide mode: tests/t14*.)
expect_error "--cgroup that does not exist" 'cgroup' --cgroup "$T/no-such-cgroup" -o "$out"
expect_error "--cgroup that is not a cgroup" 'cgroup v2' --cgroup "$T" -o "$out"
expect_error "-p outside --comm" 'named' -p "$live" --comm no-such-name -o "$out"
expect_error "unknown option --bogus" 'bogus' --bogus -p "$live" -o "$out"
expect_error "no such pid" "$gone" -p "$gone" -o "$out"
expect_error "pid not a number" 'abc|pid' -p abc -o "$out"
expect_error "invalid interval 10x" '10x' -p "$live" -i 10x -o "$out"
expect_error "invalid duration 10x" '10x' -p "$live" -d 10x -o "$out"
expect_error "zero interval" 'interval|0' -p "$live" -i 0 -o "$out"
expect_error "invalid sample rate abc" 'abc' -p "$live" -r abc -o "$out"
expect_error "sample rate 0" 'rate' -p "$live" -r 0 -o "$out"
expect_error "negative sample rate" 'rate|-5' -p "$live" -r -5 -o "$out"
expect_error "missing output dir" "$T/missing" -p "$live" -o "$T/missing"
touch "$T/afile"
expect_error "output dir is a file" "$T/afile" -p "$live" -o "$T/afile"
expect_error "command not found" 'no-such-command' -r 1 -o "$out" -- "$T/no-such-command"

# Not writable even for root: a read-only bind mount.
mkdir -p "$T/ro"
if mount --bind "$T/ro" "$T/ro" 2>/dev/null && mount -o remount,ro,bind "$T/ro" 2>/dev/null; then
	expect_error "read-only output dir" "$T/ro|read-only|writ" -p "$live" -o "$T/ro"
	umount "$T/ro"
else
	umount "$T/ro" 2>/dev/null
	skip "read-only output dir: cannot make a read-only bind mount here"
fi

# A process without libc: nothing serves malloc, nothing to attach to.
cat >"$T/nolibc.c" <<'C'
static long sys2(long n, long a, long b)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b) : "rcx", "r11", "memory");
	return r;
}
void _start(void)
{
	long ts[2] = { 60, 0 };
	sys2(35 /* nanosleep */, (long)ts, 0);
	sys2(60 /* exit */, 0, 0);
	for (;;)
		;
}
C
if gcc -O2 -mgeneral-regs-only -fno-stack-protector -static -nostdlib -o "$T/nolibc" "$T/nolibc.c" 2>"$T/gcc.err"; then
	"$T/nolibc" &
	nolibc=$!
	track_pid "$nolibc"
	expect_error "process without an allocator library" 'alloc|libc|malloc' -p "$nolibc" -o "$out"
	kill "$nolibc"
else
	ok 1 "building a libc-free process failed: $(cat "$T/gcc.err")"
fi

is "$(ls "$out" | wc -l)" 0 "no profile was written by any failed run"

# Not root: a clear error that names root or the capabilities.
cp "$HEAPTRACE" "$T/heaptrace" && chmod 755 "$T/heaptrace"
mkdir -p "$T/nobody-out" && chmod 777 "$T/nobody-out"
cp "$FIXTURES/alloc_known-fp" "$T/alloc_known-fp" && chmod 755 "$T/alloc_known-fp"
setpriv --reuid=nobody --regid=nogroup --clear-groups "$T/alloc_known-fp" --wait >"$T/nobody-fixture.out" 2>&1 &
npid=$!
track_pid "$npid"
wait_for_line "$T/nobody-fixture.out" '^ready$' 20 1 "$npid"
run_bounded 20 setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all \
	"$T/heaptrace" -p "$npid" -o "$T/nobody-out" >"$T/stdout" 2>"$T/stderr"
rc=$?
ok "$([ $rc -ne 0 ] && [ $rc -ne 124 ]; echo $?)" "as nobody: non-zero exit (got $rc)"
is "$(grep -c '^heaptrace: error:' "$T/stderr")" 1 "as nobody: exactly one 'heaptrace: error:' line" ||
	diag "$(cat "$T/stderr")"
like "$(grep -m1 '^heaptrace: error:' "$T/stderr")" 'root|CAP_BPF' "as nobody: the error mentions root or CAP_BPF"
is "$(ls "$T/nobody-out" | wc -l)" 0 "as nobody: nothing written"
kill "$npid" 2>/dev/null

kill "$live" 2>/dev/null
done_testing
