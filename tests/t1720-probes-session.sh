#!/bin/bash
# Uprobe sessions: on a kernel that has them (6.13+), every allocating site
# is probed with one session link whose return run only the calls that need
# it arm, and every call is still counted (exact tables at -r 1, both
# unwinding modes, nesting through operator new and realloc). --no-session
# forces the uprobe + uretprobe pairs: same tables, one probe more per
# allocating site. -v says which mode is in use.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp alloc_known-nofp alloc_cxx-fp alloc_cxx-nofp

require_kernel 6 13 "uprobe sessions"

probes_of() {
	sed -nE 's/.*tracing pid [0-9]+ .*[^0-9]([0-9]+) probes.*/\1/p' "$1" | head -n 1
}

# run_exact FIXTURE TABLE UNWIND MODE_RE [EXTRA_ARGS...]
run_exact() {
	local fixture=$1 table=$2 mode=$3 mode_re=$4
	shift 4
	local tag="$fixture --unwind $mode${*:+ $*}"
	local out=$T/out-$fixture-$mode-$#
	rm -rf "$out" && mkdir -p "$out"
	run_bounded 60 "$HEAPTRACE" -v --unwind "$mode" -r 1 "$@" -o "$out" -- \
		"$FIXTURES/$fixture" >"$T/stdout" 2>"$T/err"
	is $? 0 "$tag: heaptrace exits 0" || diag "$(grep -v '^libbpf' "$T/err")"
	like "$(grep -m1 'heaptrace: probes:' "$T/err")" "$mode_re" "$tag: probe mode"
	like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" \
		"$STATUS_RE_HEAD.*$STATUS_RE_TAIL_NOLOSS" "$tag: nothing lost"
	assert_table "$(last_profile "$out")" "$table" "$tag: "
	cp "$T/err" "$T/err-last"
}

SESSION_RE='probes: uprobe sessions'
PAIRS_RE='probes: uprobe \+ uretprobe pairs \(uprobe sessions: off, --no-session\)'

for build in fp nofp; do
	for mode in fp dwarf; do
		run_exact alloc_known-$build "$ALLOC_KNOWN_TABLE" $mode "$SESSION_RE"
		run_exact alloc_cxx-$build "$ALLOC_CXX_TABLE" $mode "$SESSION_RE"
	done
done
session_probes=$(probes_of "$T/err-last")

# The classic fallback, forced: the same numbers.
for mode in fp dwarf; do
	run_exact alloc_known-nofp "$ALLOC_KNOWN_TABLE" $mode "$PAIRS_RE" --no-session
	run_exact alloc_cxx-nofp "$ALLOC_CXX_TABLE" $mode "$PAIRS_RE" --no-session
done
pair_probes=$(probes_of "$T/err-last")
[ "${session_probes:-0}" -gt 0 ] && [ "${pair_probes:-0}" -gt "$session_probes" ]
ok $? \
	"a session link replaces each uprobe pair ($session_probes vs $pair_probes probes)"
# Sessions with the naive placement, and with the default rate (most calls unsampled).
run_exact alloc_known-nofp "$ALLOC_KNOWN_TABLE" dwarf "$SESSION_RE" --probe-at-entry

out=$T/out-default
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -v -o "$out" -- "$FIXTURES/alloc_known-nofp" >"$T/stdout" 2>"$T/err"
is $? 0 "default rate, sessions: heaptrace exits 0" || diag "$(grep -v '^libbpf' "$T/err")"
like "$(grep -E ': inuse .* lost$' "$T/err" | tail -n 1)" \
	"$STATUS_RE_HEAD.*$STATUS_RE_TAIL_NOLOSS" "default rate, sessions: nothing lost"

done_testing
