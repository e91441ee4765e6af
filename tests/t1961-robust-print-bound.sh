#!/bin/bash
# `heaptrace print` refuses input whose reading would pass its documented
# bounds (64 MiB decoded, 256 MiB to unpack), with one line naming the
# problem, exit 1 and little memory: a 369 KB gzip of empty samples that
# decodes to 380 MB, and a 10 KB one of five million empty samples (10 MB
# decoded, each a message protobuf-c would allocate). A real profile still
# prints.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp
[ -x /usr/bin/time ] || bail_out "/usr/bin/time (package time) is missing"

# Field 2 of Profile (sample), length 0: the smallest message there is.
python3 -c "
import gzip
open('$T/big.pb.gz', 'wb').write(gzip.compress(b'\x12\x00' * 190000000, 9))
open('$T/many.pb.gz', 'wb').write(gzip.compress(b'\x12\x00' * 5000000, 9))
" || bail_out "python3 could not build the crafted files"
ok "$([ "$(stat -c %s "$T/big.pb.gz")" -lt 400000 ]; echo $?)" "the crafted file is under 400 KB ($(stat -c %s "$T/big.pb.gz") bytes)"

# ASan's shadow and quarantine (freed buffers kept a while) double what a
# sanitizer build holds; the bound is still far below the gigabytes of before.
limit_mib=128
ldd "$HEAPTRACE" 2>/dev/null | grep -q libasan && limit_mib=256

for f in big many; do
	/usr/bin/time -f '%M' -o "$T/$f.rss" "$HEAPTRACE" print "$T/$f.pb.gz" >"$T/$f.out" 2>"$T/$f.err"
	is $? 1 "print $f.pb.gz exits 1"
	is "$(wc -l <"$T/$f.err")" 1 "print $f.pb.gz: one line" || diag "$(cat "$T/$f.err")"
	is "$(wc -c <"$T/$f.out")" 0 "print $f.pb.gz: nothing on stdout"
	rss=$(tail -n 1 "$T/$f.rss")
	ok "$([ "$rss" -lt $((limit_mib * 1024)) ]; echo $?)" "print $f.pb.gz: peak RSS ${rss} KiB, under $limit_mib MiB"
done
like "$(cat "$T/big.err")" "^heaptrace: error: cannot read the profile '.*big.pb.gz': more than 64 MiB once decompressed" \
	"the decompressed bound is named"
like "$(cat "$T/many.err")" "^heaptrace: error: cannot read the profile '.*many.pb.gz': reading it would take more than 256 MiB of memory" \
	"the unpacking bound is named"

out=$T/out
mkdir -p "$out"
run_bounded 60 "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/alloc_known-fp" >"$T/stdout" 2>"$T/err"
is $? 0 "heaptrace -r 1 -- alloc_known-fp" || diag "$(cat "$T/err")"
"$HEAPTRACE" print "$(last_profile "$out")" >"$T/real.txt" 2>"$T/real.err"
is $? 0 "a real profile still prints" || diag "$(cat "$T/real.err")"
like "$(grep -m1 '^inuse_space:' "$T/real.txt")" '^inuse_space: +51480 bytes' "and it holds the fixture's in-use bytes"
like "$(grep -m1 '^alloc_objects:' "$T/real.txt")" '^alloc_objects: +1029$' "and its allocations"

done_testing
