#!/bin/bash
# Probe placement: entry probes sit on the first instruction the kernel
# emulates (glibc's free: on the je after `test rdi,rdi`), return probes on
# the same site, and every call is still counted: the exact per-function
# tables at -r 1, for frame-pointer and no-frame-pointer builds, in both
# unwinding modes, attaching to a running process and starting a command.
# --list-probes shows the sites; what it says is checked against objdump.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_jemalloc-fp alloc_known-fp alloc_known-nofp alloc_cxx-fp alloc_cxx-nofp
command -v objdump >/dev/null || bail_out "objdump is not installed (binutils)"

# ---------------------------------------------------------- --list-probes ----

start_fixture alloc_known-nofp --wait || bail_out "fixture did not start"
lister=$FIX_PID
run_bounded 20 "$HEAPTRACE" --list-probes -p "$lister" >"$T/list" 2>"$T/list.err"
is $? 0 "--list-probes -p PID exits 0" || diag "$(cat "$T/list.err")"
libc=$(awk -F'\t' '$2 == "malloc" { print $1; exit }' "$T/list")
like "$libc" '/libc\.so\.6$' "the C entry points are listed on the libc the process maps"
is "$(awk -F'\t' 'NF != 5' "$T/list" | wc -l)" 0 \
	"every line is object, symbol, offset, instruction, reason" || diag "$(cat "$T/list")"
for sym in malloc free calloc realloc; do
	is "$(awk -F'\t' -v s=$sym '$2 == s' "$T/list" | wc -l)" 1 "$sym is listed once"
done

# sym_addr FILE SYMBOL: the symbol's address, from its dynamic symbol table.
sym_addr() {
	nm -D --defined-only "$1" | awk -v s="$2" '{ n = $3; sub(/@.*/, "", n) } n == s { print $1; exit }'
}
# mnemonic_at FILE ADDRESS: objdump's mnemonic (Intel syntax) of the instruction there.
mnemonic_at() {
	objdump -d -M intel --no-show-raw-insn --start-address="$2" \
		--stop-address=$(($2 + 16)) "$1" | awk '/^ *[0-9a-f]+:/ { print $2; exit }'
}

# Each listed site is an instruction boundary, and objdump names the same instruction.
while IFS=$'\t' read -r obj sym off insn reason; do
	addr=$((0x$(sym_addr "$libc" "$sym") + off))
	is "$(mnemonic_at "$libc" "$addr")" "${insn%% *}" \
		"$sym$off: objdump also decodes '${insn%% *}' there ($reason)"
	if [ "$off" != +0x0 ]; then
		like "$reason" '^moved past [0-9]+ instructions? ' "$sym: a moved probe says what it moved past"
		like "${insn%% *}" '^(j[a-z]+|call|push)$' "$sym: a moved probe sits on an emulated instruction"
	fi
done <"$T/list"

free_first=$(mnemonic_at "$libc" $((0x$(sym_addr "$libc" free))))
free_line=$(awk -F'\t' '$2 == "free"' "$T/list")
if [ "$free_first" = test ]; then
	like "$free_line" $'\tfree\t\\+0x[1-9a-f][0-9a-f]*\tj[a-z]+ ' \
		"free starts with 'test' (objdump): its probe moved to a jump"
else
	skip "free does not start with test in this libc ($free_first)"
fi

# jemalloc's free starts with register moves and a load into rdx (Debian 12: its
# thread cache's address); free reads only its pointer, so the probe moves to
# the first jump. Every free is still seen: t1200's exact jemalloc numbers.
run_bounded 20 "$HEAPTRACE" --list-probes -- "$FIXTURES/alloc_jemalloc-fp" >"$T/listje" 2>&1
is $? 0 "--list-probes on the jemalloc fixture exits 0"
je_free=$(awk -F'\t' '$2 == "free" && $1 ~ /libjemalloc/' "$T/listje")
like "$je_free" $'\tfree\t\\+0x[1-9a-f][0-9a-f]*\tj[a-z]+ ' \
	"jemalloc's free: its probe moved to a jump" || diag "$(cat "$T/listje")"

run_bounded 20 "$HEAPTRACE" --list-probes --probe-at-entry -p "$lister" >"$T/list0" 2>&1
is $? 0 "--list-probes --probe-at-entry exits 0"
is "$(awk -F'\t' '$3 != "+0x0"' "$T/list0" | wc -l)" 0 "--probe-at-entry: every probe on its symbol"
kill -KILL "$lister"

run_bounded 20 "$HEAPTRACE" --list-probes -- "$FIXTURES/alloc_cxx-fp" >"$T/listcxx" 2>&1
is $? 0 "--list-probes -- COMMAND exits 0"
like "$(awk -F'\t' '$2 == "_Znwm" { print $1 }' "$T/listcxx")" 'libstdc\+\+\.so' \
	"-- COMMAND: operator new is listed on libstdc++"

# ------------------------------------------------ every call still counted ----

# run_exact FIXTURE TABLE UNWIND [EXTRA_ARGS...]
run_exact() {
	local fixture=$1 table=$2 mode=$3
	shift 3
	local tag="$fixture --unwind $mode${*:+ $*}"
	local out=$T/out-$fixture-$mode-$#
	mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" --unwind "$mode" -r 1 "$@" -o "$out" -- "$FIXTURES/$fixture" \
		>"$T/stdout" 2>"$T/err"
	is $? 0 "$tag: heaptrace exits 0" || diag "$(cat "$T/err")"
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" "$STATUS_RE_HEAD.*$STATUS_RE_TAIL_NOLOSS" \
		"$tag: nothing lost"
	assert_table "$(last_profile "$out")" "$table" "$tag: "
}

for build in fp nofp; do
	for mode in fp dwarf; do
		run_exact alloc_known-$build "$ALLOC_KNOWN_TABLE" $mode
		run_exact alloc_cxx-$build "$ALLOC_CXX_TABLE" $mode
	done
done
# The naive placement counts the same.
run_exact alloc_known-nofp "$ALLOC_KNOWN_TABLE" dwarf --probe-at-entry

# Attached to a running process (-p), the same numbers.
out=$T/out-pid
mkdir -p "$out"
start_fixture alloc_known-nofp --wait || bail_out "fixture did not start"
if start_heaptrace "$T/pid.err" -r 1 -o "$out" -p "$FIX_PID"; then
	kill -USR1 "$FIX_PID"
	wait_exit "$HT_PID" 60
	is "$EXIT_STATUS" 0 "-p PID: heaptrace exits 0 when the process ends"
	assert_table "$(last_profile "$out")" "$ALLOC_KNOWN_TABLE" "-p PID: "
else
	ok 1 "-p PID: heaptrace attached"
fi

done_testing
