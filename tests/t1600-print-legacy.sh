#!/bin/bash
# `heaptrace print FILE` prints a written profile as Go's legacy heap text,
# without BPF, root or the Go toolchain; `print -base A B` prints B - A. The
# records carry raw counts; at -r 1 they are the fixture's exact numbers.
# A profile written at the default rate prints raw counts recovered from
# the unbiased values, still summing to the header.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-http.sh"

require_root_btf
require_fixture alloc_known-fp

out=$T/out
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -i 500ms -o "$out" -- "$FIXTURES/alloc_known-fp" --repeat 3 --hold 1 \
	>"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace -r 1 -i 500ms -- alloc_known-fp --repeat 3 --hold 1" || diag "$(cat "$T/err")"
first=$(first_profile "$out")
last=$(last_profile "$out")

"$HEAPTRACE" print -legacy "$last" >"$T/last.txt" 2>"$T/print.err"
is $? 0 "heaptrace print LAST exits 0" || diag "$(cat "$T/print.err")"
is "$(legacy_check "$T/last.txt" | head -n 1)" ok "print: legacy format, header = sums of the records" ||
	diag "$(head -n 20 "$T/last.txt")"
like "$(head -n 1 "$T/last.txt")" '^heap profile: 81: 154440 \[[0-9]+: [0-9]+\] @ heap/2$' \
	"print: header holds 3 rounds in use (81 objects, 154440 bytes)"
is "$(legacy_record "$T/last.txt" leak_malloc)" "30: 30000 [30: 30001]" "print: leak_malloc record"
is "$(legacy_record "$T/last.txt" churn)" "0: 0 [3000: 285060]" "print: churn record"
like "$(grep -m1 '^# heaptrace ' "$T/last.txt")" '^# heaptrace .*: pid [0-9]+ \(alloc_known-fp\), sample rate 1' \
	"print: the profile's comment follows the records"

rounds_first=$(( $(pprof_flat "$first" alloc_objects leak_malloc) / 10 ))
d=$((3 - rounds_first))
"$HEAPTRACE" print -legacy -base "$first" "$last" >"$T/delta.txt" 2>"$T/print.err"
is $? 0 "heaptrace print -base FIRST LAST exits 0" || diag "$(cat "$T/print.err")"
is "$(legacy_check "$T/delta.txt" | head -n 1)" ok "print -base: legacy format, header = sums"
is "$(legacy_record "$T/delta.txt" leak_malloc)" "$((d * 10)): $((d * 10000)) [$((d * 10)): $((d * 10000 + 1))]" \
	"print -base: leak_malloc grew by $d rounds"
is "$(legacy_record "$T/delta.txt" churn)" "0: 0 [$((d * 1000)): $((d * 95020))]" "print -base: churn allocated $d rounds"
"$HEAPTRACE" print -legacy -base "$last" "$last" >"$T/zero.txt"
is "$(legacy_record "$T/zero.txt" leak_malloc)" "0: 0 [0: 1]" "print -base X X: nothing left"

# Sampled profile: raw counts come back from the unbiased values.
out2=$T/out2
mkdir -p "$out2"
run_bounded 60 "$HEAPTRACE" -r 4096 -o "$out2" -- "$FIXTURES/alloc_known-fp" --repeat 20 >/dev/null 2>"$T/err2"
p2=$(last_profile "$out2")
"$HEAPTRACE" print -legacy "$p2" >"$T/sampled.txt"
is "$(legacy_check "$T/sampled.txt" | head -n 1)" ok "print at -r 4096: legacy format, header = sums"
like "$(head -n 1 "$T/sampled.txt")" '@ heap/8192$' "print at -r 4096: heap/8192"

# Errors: one line each.
"$HEAPTRACE" print -legacy "$T/nonexistent.pb.gz" >/dev/null 2>"$T/e1"
is $? 1 "print of a missing file exits 1"
like "$(cat "$T/e1")" "^heaptrace: error: cannot read the profile '.*nonexistent.pb.gz': No such file" "...and says so"
echo "not a profile" | gzip >"$T/junk.pb.gz"
"$HEAPTRACE" print -legacy "$T/junk.pb.gz" >/dev/null 2>"$T/e2"
is $? 1 "print of a file that is not a profile exits 1"
is "$(wc -l <"$T/e2")" 1 "...with one line: $(cat "$T/e2")"
"$HEAPTRACE" print -legacy >/dev/null 2>"$T/e3"
is $? 2 "print without a file: usage error, exit 2"
"$HEAPTRACE" print -legacy -base "$first" >/dev/null 2>"$T/e4"
is $? 2 "print -base OLD without a file: exit 2"
"$HEAPTRACE" print -legacy "$first" "$last" >/dev/null 2>"$T/e5"
is $? 2 "print with two files and no -base: exit 2"
like "$(cat "$T/e5")" '^heaptrace: error: print takes one profile' "...and says to use -base"
done_testing
