#!/bin/bash
# The output directory is held open from the start: renamed and replaced
# by a symlink to a root-only directory while heaptrace runs, it still
# gets every profile, and nothing is written where the symlink points.
# The helper process that makes the files holds only the directory and
# its socket, with at most CAP_DAC_OVERRIDE and no_new_privs.
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
helper=$(pgrep -P "$HT_PID" | head -n 1)
ok "$([ -n "$helper" ]; echo $?)" "heaptrace has a helper process ($helper)"
is "$(awk '/^CapEff:/ { print $2 }' "/proc/$helper/status")" 0000000000000002 "the helper's capabilities: CAP_DAC_OVERRIDE at most"
is "$(awk '/^NoNewPrivs:/ { print $2 }' "/proc/$helper/status")" 1 "the helper has no_new_privs"
fds=$(for f in /proc/"$helper"/fd/*; do readlink "$f"; done | grep -vE '^(/dev/null|pipe:|/tmp/)' | sed -E 's/\[[0-9]+\]//' | sort | tr '\n' ' ')
is "$fds" "socket: " "the helper holds no BPF object, only its socket (and the directory)"
is "$(readlink /proc/"$helper"/fd/* | grep -c "^$T/out$")" 1 "and the directory"
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
