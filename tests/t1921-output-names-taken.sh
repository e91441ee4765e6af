#!/bin/bash
# Anyone who may create files in the output directory (a sticky one, as
# /tmp) cannot stall heaptrace: with the names of the next hour's profiles
# taken by another user's files, and a symlink planted at the next one,
# heaptrace writes each profile under another name at once (saying so
# once), serves HTTP, loses no event, never writes through the symlink,
# and ends promptly on SIGTERM.
. "$(dirname "$0")/lib.sh"

require_root_btf
require_fixture alloc_known-fp

out=$T/shared
mkdir "$out"
chmod 1777 "$out"
echo precious >"$T/victim"
sum_victim=$(sha256sum <"$T/victim")

start_fixture alloc_known-fp --wait --hold 60
fix=$FIX_PID

# The next hour of names, second by second, as another user's empty files;
# the nearest upcoming ones are symlinks to a file of root's.
python3 - "$out" "$fix" "$T/victim" <<'PY'
import os, sys, time
out, pid, victim = sys.argv[1], sys.argv[2], sys.argv[3]
now = int(time.time())
for s in range(now, now + 3600):
    name = "%s/alloc_known-fp.%s.%sZ.heap.pb.gz" % (out, pid, time.strftime("%Y%m%dT%H%M%S", time.gmtime(s)))
    if s - now < 20:
        os.symlink(victim, name)
        os.lchown(name, 65534, 65534)
    else:
        open(name, "w").close()
        os.chown(name, 65534, 65534)
PY
planted=$(find "$out" -user nobody | wc -l)
is "$planted" 3600 "3600 names of the next hour taken by nobody"

port=$((20000 + RANDOM % 20000))
start_heaptrace "$T/ht.err" -p "$fix" -r 1 -i 1s -o "$out" --http "127.0.0.1:$port" || bail_out "heaptrace did not start"
kill -USR1 "$fix"
wait_for_line "$T/ht.err" 'inuse' 20 4 "$HT_PID"
ok $? "four intervals passed: heaptrace is not stuck on a taken name"

t0=$(date +%s%N)
code=$(curl -s -m 5 -o "$T/heap.pb.gz" -w '%{http_code}' "http://127.0.0.1:$port/debug/pprof/heap")
t1=$(date +%s%N)
is "$code" 200 "HTTP answers meanwhile"
ms=$(((t1 - t0) / 1000000))
ok "$([ "$ms" -lt 2000 ]; echo $?)" "in under 2 s ($ms ms)"

ours=$(find "$out" -user root -name '*.heap.pb.gz' -type f | wc -l)
ok "$([ "$ours" -ge 3 ]; echo $?)" "profiles written under other names ($ours)"
is "$(grep -c 'already exists and is not heaptrace' "$T/ht.err")" 1 "the taken name is said once"
like "$(grep 'already exists' "$T/ht.err")" "wrote 'alloc_known-fp\.$fix\.[0-9T]+Z_1\.heap\.pb\.gz' instead" "it names the name used instead"

t0=$(date +%s%N)
kill -TERM "$HT_PID"
wait_exit "$HT_PID" 20
t1=$(date +%s%N)
is "$EXIT_STATUS" 0 "SIGTERM: heaptrace exits 0"
ms=$(((t1 - t0) / 1000000))
ok "$([ "$ms" -lt 2000 ]; echo $?)" "SIGTERM: it ends within 2 s ($ms ms)"

is "$(sha256sum <"$T/victim")" "$sum_victim" "the symlinks' target is untouched"
is "$(find "$out" -user nobody -type l | wc -l)" 20 "the planted symlinks are still symlinks"
is "$(find "$out" -user nobody -type f -empty | wc -l)" 3580 "the planted files are untouched"
is "$(grep -cE ' [1-9][0-9]* lost' "$T/ht.err")" 0 "no event lost"
last=$(find "$out" -user root -name '*.heap.pb.gz' -type f | sort | tail -n 1)
assert_table "$last" "$ALLOC_KNOWN_TABLE"
is "$(find "$out" -name '.*tmp*' | wc -l)" 0 "no temporary file left behind"

done_testing
