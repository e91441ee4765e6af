#!/bin/bash
# A real, unmodified Debian program without frame pointers: python3 holds
# 50 blocks of 1 MiB for a while. At the default sample rate the in-use
# estimate is about right, and the stacks of those blocks are whole: from
# the code that called malloc up through the interpreter to its entry,
# Py_BytesMain, and into libc's start-up code.
. "$(dirname "$0")/lib.sh"

require_root_btf
PY=/usr/bin/python3
[ -x "$PY" ] || bail_out "$PY is missing (Debian's python3 package)"
readelf -S "$(readlink -f "$PY")" | grep -q '\.symtab' &&
	diag "note: $PY has a .symtab"

out=$T/out
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -i 500ms -o "$out" -- "$PY" -c '
import time
keep = [bytearray(1 << 20) for _ in range(50)]
time.sleep(2.5)
' >"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace -- python3 exits 0" || diag "$(cat "$T/err")"

# The profile taken while python held the blocks: the one with most in use.
best= best_inuse=0
for f in $(profiles_of "$out"); do
	v=$(pprof_total "$f" inuse_space)
	if [ "${v:-0}" -gt "$best_inuse" ]; then
		best=$f
		best_inuse=$v
	fi
done
ok "$([ -n "$best" ]; echo $?)" "a profile was written while python held its blocks"
within "$best_inuse" 52428800 25 "in-use estimate of 50 MiB held ($best_inuse bytes)"

# Stacks holding at least 512 KiB each: the bytearrays.
big=$(pprof_traces "$best" inuse_space | awk -F'\t' '$1 >= 524288 { print $2 }')
n=$(grep -c . <<<"$big")
ok "$([ "$n" -ge 1 ]; echo $?)" "stacks of the large blocks found ($n)"
whole=$(grep -c ';Py_BytesMain;' <<<"$big")
is "$whole" "$n" "every such stack reaches the interpreter's entry, Py_BytesMain"
libc=$(grep -cE ';__libc_start_main[^;]*(;|$)' <<<"$big")
is "$libc" "$n" "and continues into libc's start-up code"
depth=$(head -n 1 <<<"$big" | tr ';' '\n' | wc -l)
ok "$([ "$depth" -ge 8 ]; echo $?)" "a whole interpreter stack, not one or two frames ($depth frames)"
diag "e.g. $(head -n 1 <<<"$big")"

done_testing
