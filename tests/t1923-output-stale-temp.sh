#!/bin/bash
# At the start heaptrace removes the temporary files an interrupted write
# of its own left (its pattern, its user, older than a minute), and
# nothing else: not another user's, not a fresh one (another heaptrace may
# be writing it), not a symlink, not other names.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

out=$T/out
mkdir "$out"
stale=".alloc_known-fp.4242.20261130T101010Z.heap.pb.gz.tmp.0a1b2c3d"
# As mkstemp() named them in earlier versions.
stale_old=".alloc_known-fp.4249.20261130T101010Z.heap.pb.gz.tmp.aB3xYz"
fresh=".alloc_known-fp.4243.20261130T101010Z.heap.pb.gz.tmp.0a1b2c3d"
nobodys=".alloc_known-fp.4244.20261130T101010Z.heap.pb.gz.tmp.0a1b2c3d"
link=".alloc_known-fp.4245.20261130T101010Z.heap.pb.gz.tmp.0a1b2c3d"
others=(".notes.tmp.0a1b2c3d" ".alloc_known-fp.4246.20261130T101010Z.heap.pb.gz.tmp.XYZ" "alloc_known-fp.4247.20261130T101010Z.heap.pb.gz" ".alloc_known-fp.4248.heap.pb.gz.swp")
echo half >"$out/$stale"
echo half >"$out/$stale_old"
echo half >"$out/$fresh"
echo half >"$out/$nobodys"
chown nobody "$out/$nobodys"
echo keep >"$T/target"
ln -s "$T/target" "$out/$link"
for f in "${others[@]}"; do echo other >"$out/$f"; done
touch -h -d '1 hour ago' "$out/$stale" "$out/$stale_old" "$out/$nobodys" "$out/$link" "${others[@]/#/$out/}"

run_bounded 30 "$HEAPTRACE" -r 1 -o "$out" -- "$FIXTURES/alloc_known-fp" >"$T/ht.out" 2>"$T/ht.err"
is $? 0 "heaptrace ran the fixture"
ok "$([ ! -e "$out/$stale" ]; echo $?)" "the stale temporary file is removed"
like "$(cat "$T/ht.err")" "removed stale temporary file '$out/$stale'" "and that is said"
ok "$([ ! -e "$out/$stale_old" ]; echo $?)" "so is one named as earlier versions did"
ok "$([ -e "$out/$fresh" ]; echo $?)" "a fresh one is kept"
ok "$([ -e "$out/$nobodys" ]; echo $?)" "another user's is kept"
ok "$([ -L "$out/$link" ] && [ "$(cat "$T/target")" = keep ]; echo $?)" "a symlink is kept, its target untouched"
for f in "${others[@]}"; do
	is "$(cat "$out/$f")" other "other names are kept: $f"
done
ok "$([ "$(profiles_of "$out" | wc -l)" -ge 2 ]; echo $?)" "profiles were written"

done_testing
