#!/bin/bash
# The output directory is held open from the start: renamed and replaced
# by a symlink to a root-only directory while heaptrace runs, it still
# gets every profile, and nothing is written where the symlink points.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

mkdir "$T/out" "$T/rootonly"
chmod 0700 "$T/rootonly"
start_fixture alloc_known-fp --wait --hold 60
fix=$FIX_PID
start_heaptrace "$T/ht.err" -p "$fix" -r 1 -i 500ms -o "$T/out" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_for_line "$T/ht.err" 'inuse' 20 2 "$HT_PID"
before=$(profiles_of "$T/out" | wc -l)
ok "$([ "$before" -ge 1 ]; echo $?)" "profiles before the swap ($before)"

mv "$T/out" "$T/moved"
ln -s "$T/rootonly" "$T/out"
n=$(grep -c inuse "$T/ht.err")
wait_for_line "$T/ht.err" 'inuse' 20 $((n + 3)) "$HT_PID"
ok $? "three more intervals after the swap"
kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
is "$EXIT_STATUS" 0 "heaptrace exits 0"

after=$(profiles_of "$T/moved" | wc -l)
ok "$([ "$after" -ge $((before + 3)) ]; echo $?)" "the profiles went on into the directory held ($before, then $after)"
is "$(find "$T/rootonly" -mindepth 1 | wc -l)" 0 "nothing was written through the symlink"
assert_table "$(last_profile "$T/moved")" "$ALLOC_KNOWN_TABLE"
is "$(grep -c '^heaptrace: \(error\|warning\):' "$T/ht.err")" 0 "nothing to warn about"

done_testing
