#!/bin/bash
# How sure the numbers are: at the default rate, leak_big's ~60 MB leak rests
# on a few dozen samples. Every sample carries a `samples` label (the
# sampled blocks its values rest on); the status line and `heaptrace print`
# give the in-use estimate with its uncertainty, ±1/sqrt(n) for n live
# samples; print's values are unbiased: its header and every function's
# flat and cum values equal `go tool pprof -top`'s, and its header agrees
# with the status line.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture leak_big-nofp

out=$T/out
mkdir -p "$out"
run_bounded 120 "$HEAPTRACE" -o "$out" -- "$FIXTURES/leak_big-nofp" >"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace (default rate) -- leak_big-nofp exits 0" || diag "$(tail -5 "$T/err")"
prof=$(last_profile "$out")
ok "$([ -n "$prof" ]; echo $?)" "a profile was written" || { done_testing; exit; }

# Every sample says how many samples it rests on.
pprof -raw "$prof" 2>/dev/null | sed -n '/^Samples:/,/^Locations/p' | sed '1,2d;$d' >"$T/raw"
nsamples=$(grep -c ': [0-9 ]*$' "$T/raw")
nlabels=$(grep -c 'samples:\[[0-9]*\]' "$T/raw")
ok "$([ "$nsamples" -gt 0 ] && [ "$nsamples" = "$nlabels" ]; echo $?)" \
	"each of the $nsamples samples has a samples label ($nlabels)"

"$HEAPTRACE" print "$prof" >"$T/print" 2>"$T/print.err"
is $? 0 "heaptrace print exits 0" || diag "$(cat "$T/print.err")"
for si in inuse_space alloc_space inuse_objects alloc_objects; do
	got=$(sed -n "s/^$si: *\([0-9-]*\).*/\1/p" "$T/print")
	is "$got" "$(pprof_total "$prof" "$si")" "print's $si total equals go tool pprof -top's"
done

# Every function of print's table against pprof -top, flat and cum.
bad=0
checked=0
while read -r flat pm cum objs aflat acum fn; do
	[ "$(pprof_flat "$prof" inuse_space "$fn")" = "$flat" ] || { bad=1; diag "$fn flat $flat"; }
	[ "$(pprof_cum "$prof" inuse_space "$fn")" = "$cum" ] || { bad=1; diag "$fn cum $cum"; }
	[ "$(pprof_flat "$prof" inuse_objects "$fn")" = "$objs" ] || { bad=1; diag "$fn objects $objs"; }
	[ "$(pprof_flat "$prof" alloc_space "$fn")" = "$aflat" ] || { bad=1; diag "$fn alloc flat $aflat"; }
	[ "$(pprof_cum "$prof" alloc_space "$fn")" = "$acum" ] || { bad=1; diag "$fn alloc cum $acum"; }
	checked=$((checked + 1))
done < <(sed -n '/^ *flat_inuse_B/,$p' "$T/print" | sed 1d | awk '$7 ~ /^(leak_many|churn_many|main)$/')
is "$checked" 3 "print lists leak_many, churn_many and main"
is "$bad" 0 "their flat and cum in-use, in-use objects and allocated values equal pprof -top's"

# The uncertainty: 1/sqrt(n) for the n live samples, the same in print and the status line.
status=$(grep -E ': inuse .* live samples' "$T/err" | tail -n 1)
n=$(sed -n 's/.*; ±[0-9]*% from \([0-9]*\) live samples;.*/\1/p' <<<"$status")
pct=$(awk -v n="$n" 'BEGIN { printf "%.0f", 100 / sqrt(n) }')
like "$status" "; ±$pct% from $n live samples;" "status line: ±$pct% for $n live samples"
like "$(grep '^inuse_space:' "$T/print")" "\(±$pct%, $n samples\)$" "print's header: the same ±$pct% from $n samples"
read -r _ truth _ <"$T/stdout"
est=$(pprof_flat "$prof" inuse_space leak_many)
ok "$(awk -v e="$est" -v t="$truth" -v n="$n" 'BEGIN { d = (e - t) / t; if (d < 0) d = -d; exit !(d <= 4 / sqrt(n)) }'; echo $?)" \
	"leak_many's estimate $est is within 4 standard errors of the truth $truth"
inuse_status=$(sed -n 's/.*: inuse \([0-9.]* [KMG]iB\) .*/\1/p' <<<"$status")
like "$(grep '^inuse_space:' "$T/print")" "bytes, $inuse_status ±" "print's header agrees with the status line ($inuse_status)"
done_testing
